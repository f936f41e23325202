// The SQL editor: CodeMirror 6 with SQL highlighting and error marks,
// bundled into the site as sql-editor.js by `cargo xtask dist` (esbuild).
//
// The Yew page owns the text: it renders a <textarea id="sql-code"> (the
// editor when this bundle is absent) and an empty <div id="sql-editor">.
// This module puts CodeMirror in the div, hides the textarea, and keeps the
// two in step: edits go to the textarea as `input` events; text the page
// sets (an example) arrives with a new `data-revision`; a compile error's
// position arrives as `data-error-line` / `data-error-column`.
import { EditorView, basicSetup } from 'codemirror';
import { sql, StandardSQL } from '@codemirror/lang-sql';
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { Decoration } from '@codemirror/view';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags } from '@lezer/highlight';

// Colours that read at 4.5:1 or more on the editor's white (CodeMirror's
// default orange strings do not), distinct in hue and lightness.
const readable = HighlightStyle.define([
  { tag: tags.keyword, color: '#0b5cad', fontWeight: '600' },
  { tag: [tags.string, tags.special(tags.string)], color: '#a63d00' },
  { tag: [tags.number, tags.bool, tags.null], color: '#6a3d9a' },
  { tag: [tags.typeName, tags.standard(tags.name)], color: '#1b6e2f' },
  { tag: [tags.comment, tags.lineComment, tags.blockComment], color: '#5f6b7a', fontStyle: 'italic' },
  { tag: [tags.special(tags.name), tags.quote], color: '#7a3e00' },
]);

const setError = StateEffect.define();

const errorField = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = marks.map(tr.changes);
    for (const e of tr.effects) if (e.is(setError)) next = e.value;
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

// The error's line, and the token at its column.
function errorMarks(state, line, column) {
  if (!line || line > state.doc.lines) return Decoration.none;
  const l = state.doc.line(line);
  const from = Math.min(l.from + Math.max(column - 1, 0), l.to);
  let to = from;
  while (to < l.to && /[\w"'.$]/.test(l.text[to - l.from])) to++;
  if (to === from) to = Math.min(from + 1, l.to);
  const marks = [Decoration.line({ class: 'cm-error-line' }).range(l.from)];
  if (to > from) marks.push(Decoration.mark({ class: 'cm-error-mark' }).range(from, to));
  return Decoration.set(marks, true);
}

function upgrade(textarea, host) {
  textarea.dataset.upgraded = '1';
  textarea.style.display = 'none';
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup,
        sql({ dialect: StandardSQL, upperCaseKeywords: true }),
        syntaxHighlighting(readable),
        errorField,
        EditorView.contentAttributes.of({ 'aria-label': 'SQL application', 'data-testid': 'sql-editor', tabindex: '0' }),
        EditorView.updateListener.of((u) => {
          if (!u.docChanged) return;
          textarea.value = u.state.doc.toString();
          textarea.dispatchEvent(new Event('input', { bubbles: true }));
        }),
      ],
    }),
  });
  let revision = textarea.dataset.revision;
  const sync = () => {
    if (textarea.dataset.revision !== revision) {
      revision = textarea.dataset.revision;
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: textarea.value } });
    }
    const marks = errorMarks(view.state, Number(textarea.dataset.errorLine), Number(textarea.dataset.errorColumn));
    view.dispatch({ effects: setError.of(marks) });
  };
  new MutationObserver(sync).observe(textarea, { attributes: true });
  sync();
}

function scan() {
  const textarea = document.getElementById('sql-code');
  const host = document.getElementById('sql-editor');
  if (textarea && host && !textarea.dataset.upgraded) upgrade(textarea, host);
}

// The panel comes and goes with the stream: watch for it.
export function watch() {
  new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
  scan();
}
