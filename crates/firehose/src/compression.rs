//! Object compression as Firehose offers it (`CompressionFormat`), and the
//! reverse for previews. Well-kept crates do the work: flate2 (GZIP and
//! the ZIP entry's deflate), zip, snap.

use std::io::{Read, Write};

/// `CompressionFormat`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Compression {
    Uncompressed,
    Gzip,
    Zip,
    /// The Snappy framing format.
    Snappy,
    /// Hadoop's block format: big-endian lengths around raw Snappy blocks.
    HadoopSnappy,
}

pub const FORMATS: &[&str] = &["UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"];

impl Compression {
    pub fn parse(s: &str) -> Option<Compression> {
        Some(match s {
            "UNCOMPRESSED" => Compression::Uncompressed,
            "GZIP" => Compression::Gzip,
            "ZIP" => Compression::Zip,
            "Snappy" => Compression::Snappy,
            "HADOOP_SNAPPY" => Compression::HadoopSnappy,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Uncompressed => "UNCOMPRESSED",
            Compression::Gzip => "GZIP",
            Compression::Zip => "ZIP",
            Compression::Snappy => "Snappy",
            Compression::HadoopSnappy => "HADOOP_SNAPPY",
        }
    }

    /// The extension objects get unless `FileExtension` says otherwise.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
            Compression::Zip => ".zip",
            Compression::Snappy | Compression::HadoopSnappy => ".snappy",
        }
    }

    /// Compresses an object's bytes; `entry` names the file inside a ZIP.
    pub fn compress(self, data: &[u8], entry: &str) -> Result<Vec<u8>, String> {
        let io = |e: std::io::Error| format!("{} compression failed: {e}", self.as_str());
        match self {
            Compression::Uncompressed => Ok(data.to_vec()),
            Compression::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(data.len() / 4 + 64),
                    flate2::Compression::default(),
                );
                enc.write_all(data).map_err(io)?;
                enc.finish().map_err(io)
            }
            Compression::Zip => {
                let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated);
                zip.start_file(entry, options)
                    .map_err(|e| format!("ZIP compression failed: {e}"))?;
                zip.write_all(data).map_err(io)?;
                zip.finish()
                    .map(|c| c.into_inner())
                    .map_err(|e| format!("ZIP compression failed: {e}"))
            }
            Compression::Snappy => {
                let mut enc = snap::write::FrameEncoder::new(Vec::new());
                enc.write_all(data).map_err(io)?;
                enc.into_inner()
                    .map_err(|e| format!("Snappy compression failed: {e}"))
            }
            Compression::HadoopSnappy => {
                // One block per 256 KiB of input: [raw length][chunk length][chunk].
                let mut out = Vec::new();
                let mut encoder = snap::raw::Encoder::new();
                for block in data.chunks(256 * 1024) {
                    let chunk = encoder
                        .compress_vec(block)
                        .map_err(|e| format!("HADOOP_SNAPPY compression failed: {e}"))?;
                    out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                    out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
                    out.extend_from_slice(&chunk);
                }
                Ok(out)
            }
        }
    }

    /// The original bytes of a compressed object (for previews, downloads
    /// and tests).
    pub fn decompress(self, data: &[u8]) -> Result<Vec<u8>, String> {
        let io = |e: std::io::Error| format!("not valid {}: {e}", self.as_str());
        let mut out = Vec::new();
        match self {
            Compression::Uncompressed => out.extend_from_slice(data),
            Compression::Gzip => {
                flate2::read::GzDecoder::new(data)
                    .read_to_end(&mut out)
                    .map_err(io)?;
            }
            Compression::Zip => {
                let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data))
                    .map_err(|e| format!("not a valid ZIP: {e}"))?;
                for i in 0..archive.len() {
                    let mut file = archive
                        .by_index(i)
                        .map_err(|e| format!("not a valid ZIP: {e}"))?;
                    file.read_to_end(&mut out).map_err(io)?;
                }
            }
            Compression::Snappy => {
                snap::read::FrameDecoder::new(data)
                    .read_to_end(&mut out)
                    .map_err(io)?;
            }
            Compression::HadoopSnappy => {
                let mut rest = data;
                let mut decoder = snap::raw::Decoder::new();
                while !rest.is_empty() {
                    let (head, tail) = rest
                        .split_at_checked(8)
                        .ok_or("not valid HADOOP_SNAPPY: a block header is cut short")?;
                    let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
                    let (chunk, tail) = tail
                        .split_at_checked(len)
                        .ok_or("not valid HADOOP_SNAPPY: a block is cut short")?;
                    out.extend(
                        decoder
                            .decompress_vec(chunk)
                            .map_err(|e| format!("not valid HADOOP_SNAPPY: {e}"))?,
                    );
                    rest = tail;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_round_trips() {
        let data: Vec<u8> = (0..700_000u32)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .take(600_000)
            .collect();
        for name in FORMATS {
            let c = Compression::parse(name).unwrap();
            assert_eq!(c.as_str(), *name);
            for sample in [&data[..], b"", b"x"] {
                let packed = c.compress(sample, "object").unwrap();
                assert_eq!(c.decompress(&packed).unwrap(), sample, "{name}");
            }
            if c != Compression::Uncompressed {
                assert!(
                    c.compress(&data, "object").unwrap().len() < data.len() / 2,
                    "{name}"
                );
            }
        }
        // GZIP is what `gunzip` reads: the magic bytes.
        assert_eq!(
            &Compression::Gzip.compress(b"a", "").unwrap()[..2],
            &[0x1f, 0x8b]
        );
        assert!(Compression::Gzip.decompress(b"not gzip").is_err());
        assert!(Compression::HadoopSnappy.decompress(&[0, 0, 0, 1]).is_err());
    }
}
