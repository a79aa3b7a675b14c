//! No input makes the reader panic: random bytes, and random mutations of valid files.
mod common;
use holdfast_ingest::{write_dataset, Format, Reader, SourceKind};
use std::path::Path;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn read_all(kind: SourceKind, format: Format, bytes: &[u8]) {
    let _ = Reader::new().read_stream(kind, format, Path::new("fuzz"), bytes, &mut |_| Ok(()), &mut |_| {});
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    const ALPHABET: &[u8] = b",|:\"\n\r{}[]0123456789.-+eTZ: abcdefUSDJPYtruefalsenull_\xC3\xA9\xFF\x00";
    for _ in 0..3000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len)
            .map(|_| if rng.below(4) == 0 { rng.next() as u8 } else { ALPHABET[rng.below(ALPHABET.len())] })
            .collect();
        for kind in SourceKind::ALL {
            read_all(kind, Format::Csv, &bytes);
            read_all(kind, Format::Jsonl, &bytes);
        }
    }
}

#[test]
fn mutated_valid_files_never_panic() {
    let ds = common::full_dataset();
    let mut rng = Rng(42);
    for format in [Format::Csv, Format::Jsonl] {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(&ds, dir.path(), format).unwrap();
        for kind in SourceKind::ALL {
            let valid = std::fs::read(dir.path().join(kind.file_name(format))).unwrap();
            for _ in 0..300 {
                let mut b = valid.clone();
                for _ in 0..1 + rng.below(4) {
                    match rng.below(4) {
                        0 if !b.is_empty() => {
                            let i = rng.below(b.len());
                            b[i] = rng.next() as u8;
                        }
                        1 if !b.is_empty() => {
                            let i = rng.below(b.len());
                            b.truncate(i);
                        }
                        2 => {
                            let i = rng.below(b.len() + 1);
                            const INS: &[u8] = b"0-9.:|,\"\n{}x";
                            let c = INS[rng.below(INS.len())];
                            b.insert(i, c);
                        }
                        _ if !b.is_empty() => {
                            let i = rng.below(b.len());
                            b.remove(i);
                        }
                        _ => {}
                    }
                }
                read_all(kind, format, &b);
            }
        }
    }
}
