//! Objects read from the repository's packs with a cache of every object decoded on the
//! way, the way git reads them.
//!
//! A pack stores most trees and commits as deltas against another version, in chains up to
//! 50 deep. gitoxide caches only the object a chain ends in, so the next object of the
//! same chain inflates the bases below it again; a scan reads neighbouring versions of the
//! same trees one after another, and did about three inflates for every two objects.
//! Here every base met on the way is kept (up to [`CACHE_BYTES`] per reader), so a chain is
//! inflated once per reader. Objects outside the packs (loose ones, alternates) are read
//! through gitoxide.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use gix::ObjectId;
use gix::objs::Find;
use gix::odb::pack;
use gix::odb::pack::data::entry::Header;

/// Bytes of decoded objects kept per reader; the least recently used half goes when full.
const CACHE_BYTES: usize = 32 << 20;
/// Objects larger than this are not kept (a big blob would push out the trees).
const MAX_CACHED_OBJECT: usize = CACHE_BYTES / 16;
/// Deeper than this a delta chain is taken for a corrupt pack's cycle of ref-deltas (git's
/// own limit on `pack.depth` is 4095).
const MAX_CHAIN: usize = 10_000;

/// The packs of a repository, opened once per scan and shared by its readers.
pub struct Packs {
    packs: Vec<Pack>,
    hash: gix::hash::Kind,
}

/// One pack: its index, looked up in place, and its data.
struct Pack {
    index: PackIndex,
    data: pack::data::File,
}

impl Packs {
    /// Opens every pack (with its index) of `repo`'s object directory. A pack that cannot
    /// be opened here is left to gitoxide, which reads every object these packs miss.
    pub fn open(repo: &gix::Repository) -> Self {
        let hash = repo.object_hash();
        let dir = repo.objects.store_ref().path().join("pack");
        let packs = list_indexes(&dir)
            .into_iter()
            .filter_map(|path| {
                let index = PackIndex::open(&path, hash.len_in_bytes())?;
                let data = pack::data::File::at(path.with_extension("pack"), hash).ok()?;
                Some(Pack { index, data })
            })
            .collect();
        Self { packs, hash }
    }

    /// Where `id` is stored in the packs: the pack's number and the entry's offset.
    fn locate(&self, id: &gix::oid) -> Option<(usize, u64)> {
        self.packs
            .iter()
            .enumerate()
            .find_map(|(n, pack)| Some((n, pack.index.offset_of(id.as_bytes())?)))
    }
}

/// A pack index (version 2) read where it is mapped. gitoxide's own reader checks the
/// whole offset table when it opens an index (4 M instructions for 700,000 objects);
/// a lookup here reads the fan-out, a binary search of the ids and one offset, each
/// bounds-checked.
struct PackIndex {
    map: memmap2::Mmap,
    objects: usize,
    hash_len: usize,
}

/// `\xfftOc` and version 2.
const INDEX_V2: [u8; 8] = [0xff, b't', b'O', b'c', 0, 0, 0, 2];
const FAN_OUT: usize = 8;
const IDS: usize = FAN_OUT + 256 * 4;

impl PackIndex {
    fn open(path: &Path, hash_len: usize) -> Option<Self> {
        let file = std::fs::File::open(path).ok()?;
        // SAFETY: git never rewrites a pack index in place (a repack writes new files and
        // deletes the old, which stays mapped until unmapped); every read below is
        // bounds-checked against the map's length.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        if map.get(..8)? != INDEX_V2 {
            return None;
        }
        let objects = read_u32(&map, FAN_OUT + 255 * 4)? as usize;
        Some(Self { map, objects, hash_len })
    }

    fn offset_of(&self, id: &[u8]) -> Option<u64> {
        let first = usize::from(*id.first()?);
        let mut lo =
            if first == 0 { 0 } else { read_u32(&self.map, FAN_OUT + (first - 1) * 4)? as usize };
        let mut hi = read_u32(&self.map, FAN_OUT + first * 4)? as usize;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = IDS + mid * self.hash_len;
            match self.map.get(at..at + self.hash_len)?.cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.offset_at(mid),
            }
        }
        None
    }

    fn offset_at(&self, entry: usize) -> Option<u64> {
        let offsets = IDS + self.objects * (self.hash_len + 4);
        let offset = read_u32(&self.map, offsets + entry * 4)?;
        if offset & 0x8000_0000 == 0 {
            return Some(u64::from(offset));
        }
        let large = offsets + self.objects * 4 + (offset & 0x7fff_ffff) as usize * 8;
        let bytes = self.map.get(large..large + 8)?;
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// The `.idx` files of a pack directory, newest first (as git looks them up).
fn list_indexes(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut indexes: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
        .map(|e| {
            let modified = e.metadata().and_then(|m| m.modified()).ok();
            (modified, e.path())
        })
        .collect();
    indexes.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    indexes.into_iter().map(|(_, path)| path).collect()
}

/// An object read: its kind and its bytes, shared with the cache.
#[derive(Clone)]
pub struct Object {
    pub kind: gix::objs::Kind,
    pub data: Rc<Vec<u8>>,
}

/// Why an object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("object {id} is missing")]
    Missing { id: ObjectId },
    #[error("object {id} cannot be read: {reason}")]
    Unreadable { id: ObjectId, reason: String },
}

/// One reader's view of the object database, with its cache. Not shared between threads:
/// each reader has its own (a chain is inflated once per reader).
pub struct Objects<'r> {
    repo: &'r gix::Repository,
    packs: &'r Packs,
    inflate: gix::zlib::Inflate,
    cache: HashMap<(usize, u64), Cached>,
    cache_bytes: usize,
    /// Where the objects asked for are in the packs.
    located: gix::hashtable::HashMap<ObjectId, (usize, u64)>,
    tick: u64,
    /// Delta instructions, inflated.
    delta: Vec<u8>,
}

struct Cached {
    object: Object,
    used: u64,
}

impl<'r> Objects<'r> {
    pub fn new(repo: &'r gix::Repository, packs: &'r Packs) -> Self {
        Self {
            repo,
            packs,
            inflate: gix::zlib::Inflate::default(),
            cache: HashMap::new(),
            cache_bytes: 0,
            located: gix::hashtable::HashMap::default(),
            tick: 0,
            delta: Vec::new(),
        }
    }

    /// The packs it reads, for another reader of the same scan.
    pub fn packs(&self) -> &'r Packs {
        self.packs
    }

    pub fn object_hash(&self) -> gix::hash::Kind {
        self.packs.hash
    }

    /// The object `id`.
    ///
    /// # Errors
    /// [`ObjectError::Missing`] when no pack and no other store of the repository has it,
    /// [`ObjectError::Unreadable`] when it is there but cannot be decoded.
    pub fn find(&mut self, id: &gix::oid) -> Result<Object, ObjectError> {
        let unreadable =
            |reason: String| ObjectError::Unreadable { id: id.to_owned(), reason };
        // Most objects are asked for twice or more (a tree as the new side of one commit and
        // the old side of the next): their place is remembered, not searched for again.
        let place = match self.located.get(id) {
            Some(place) => Some(*place),
            None => {
                let place = self.packs.locate(id);
                if let Some(place) = place {
                    self.located.insert(id.to_owned(), place);
                }
                place
            }
        };
        if let Some((pack, offset)) = place {
            return self.decode(pack, offset).map_err(unreadable);
        }
        let mut buf = Vec::new();
        match self.repo.objects.try_find(id, &mut buf) {
            Ok(Some(data)) => {
                let kind = data.kind;
                let len = data.data.len();
                buf.truncate(len);
                Ok(Object { kind, data: Rc::new(buf) })
            }
            Ok(None) => Err(ObjectError::Missing { id: id.to_owned() }),
            Err(e) => Err(unreadable(e.to_string())),
        }
    }

    /// The bytes of commit `id`, to decode with [`gix::objs::CommitRef::from_bytes`].
    ///
    /// # Errors
    /// As [`Self::find`], and [`ObjectError::Unreadable`] when `id` is not a commit.
    pub fn find_commit(&mut self, id: &gix::oid) -> Result<Rc<Vec<u8>>, ObjectError> {
        let object = self.find(id)?;
        if object.kind != gix::objs::Kind::Commit {
            let reason = format!("a {} where a commit was expected", object.kind);
            return Err(ObjectError::Unreadable { id: id.to_owned(), reason });
        }
        Ok(object.data)
    }

    /// The root tree of commit `id`.
    ///
    /// # Errors
    /// As [`Self::find_commit`].
    pub fn tree_of(&mut self, id: &gix::oid) -> Result<ObjectId, ObjectError> {
        let data = self.find_commit(id)?;
        gix::objs::CommitRefIter::from_bytes(&data, self.object_hash())
            .tree_id()
            .map_err(|e| ObjectError::Unreadable { id: id.to_owned(), reason: e.to_string() })
    }

    /// The entry at `offset` of pack `pack`: its chain is followed down to an object in
    /// the cache or a whole one, then the deltas are applied back up, each result kept.
    /// A loop, not a recursion: chains can be thousands deep.
    fn decode(&mut self, pack: usize, offset: u64) -> Result<Object, String> {
        let mut deltas = Vec::new();
        let (mut pack, mut offset) = (pack, offset);
        let mut object = loop {
            self.tick += 1;
            if let Some(cached) = self.cache.get_mut(&(pack, offset)) {
                cached.used = self.tick;
                break cached.object.clone();
            }
            if deltas.len() > MAX_CHAIN {
                return Err(format!("a delta chain deeper than {MAX_CHAIN}"));
            }
            let file = &self.packs.packs[pack].data;
            let entry = file.entry(offset).map_err(|e| e.to_string())?;
            match entry.header {
                Header::Commit | Header::Tree | Header::Blob | Header::Tag => {
                    let kind = entry.header.as_kind().ok_or("an entry of no kind")?;
                    let size = usize::try_from(entry.decompressed_size).map_err(|e| e.to_string())?;
                    let mut data = vec![0; size];
                    file.decompress_entry(&entry, &mut self.inflate, &mut data)
                        .map_err(|e| e.to_string())?;
                    let object = Object { kind, data: Rc::new(data) };
                    self.keep(pack, offset, &object);
                    break object;
                }
                Header::OfsDelta { base_distance } => {
                    let base_offset = entry
                        .checked_base_pack_offset(base_distance)
                        .ok_or("a delta base before the start of the pack")?;
                    deltas.push((pack, offset, entry));
                    offset = base_offset;
                }
                Header::RefDelta { base_id } => {
                    deltas.push((pack, offset, entry));
                    match self.packs.locate(&base_id) {
                        Some(place) => (pack, offset) = place,
                        // Outside the packs: read by gitoxide, no deeper.
                        None => break self.find(&base_id).map_err(|e| e.to_string())?,
                    }
                }
            }
        };
        for (pack, offset, entry) in deltas.into_iter().rev() {
            let size = usize::try_from(entry.decompressed_size).map_err(|e| e.to_string())?;
            object = self.apply_delta(pack, &entry, size, &object)?;
            self.keep(pack, offset, &object);
        }
        Ok(object)
    }

    fn apply_delta(
        &mut self,
        pack: usize,
        entry: &pack::data::Entry,
        size: usize,
        base: &Object,
    ) -> Result<Object, String> {
        let file = &self.packs.packs[pack].data;
        self.delta.clear();
        self.delta.resize(size, 0);
        file.decompress_entry(entry, &mut self.inflate, &mut self.delta)
            .map_err(|e| e.to_string())?;
        let data = apply(&base.data, &self.delta).ok_or("a corrupt delta")?;
        Ok(Object { kind: base.kind, data: Rc::new(data) })
    }

    fn keep(&mut self, pack: usize, offset: u64, object: &Object) {
        let len = object.data.len();
        if len > MAX_CACHED_OBJECT {
            return;
        }
        if self.cache_bytes + len > CACHE_BYTES {
            // Drop the least recently used half.
            let mut used: Vec<u64> = self.cache.values().map(|c| c.used).collect();
            let middle = used.len() / 2;
            let (_, &mut median, _) = used.select_nth_unstable(middle);
            self.cache.retain(|_, c| c.used > median);
            self.cache_bytes = self.cache.values().map(|c| c.object.data.len()).sum();
        }
        self.cache_bytes += len;
        self.cache.insert((pack, offset), Cached { object: object.clone(), used: self.tick });
    }
}

/// `base` with git's delta `delta` applied; none when the delta is corrupt.
///
/// A delta is the sizes of its base and its result (little-endian base-128), then
/// instructions: a byte with the high bit set copies a range of the base (its low four
/// bits say which offset bytes follow, the next three which size bytes; a size of zero
/// means 64 KiB), any other non-zero byte inserts that many literal bytes that follow.
fn apply(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    let mut size = || -> Option<usize> {
        let mut value = 0usize;
        let mut shift = 0;
        loop {
            let byte = *delta.get(at)?;
            at += 1;
            value |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift += 7;
        }
    };
    let base_size = size()?;
    let result_size = size()?;
    if base_size != base.len() {
        return None;
    }
    let mut out = Vec::with_capacity(result_size);
    while let Some(&command) = delta.get(at) {
        at += 1;
        if command & 0x80 != 0 {
            let mut read = |bits: u8, shift: u32, value: &mut usize| -> Option<()> {
                if command & bits != 0 {
                    *value |= usize::from(*delta.get(at)?) << shift;
                    at += 1;
                }
                Some(())
            };
            let (mut offset, mut len) = (0usize, 0usize);
            for (i, bit) in [0x01, 0x02, 0x04, 0x08].into_iter().enumerate() {
                read(bit, 8 * i as u32, &mut offset)?;
            }
            for (i, bit) in [0x10, 0x20, 0x40].into_iter().enumerate() {
                read(bit, 8 * i as u32, &mut len)?;
            }
            if len == 0 {
                len = 0x10000;
            }
            out.extend_from_slice(base.get(offset..offset.checked_add(len)?)?);
        } else if command != 0 {
            let len = usize::from(command);
            out.extend_from_slice(delta.get(at..at + len)?);
            at += len;
        } else {
            return None;
        }
    }
    (out.len() == result_size).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_copy_from_the_base_and_insert_literals() {
        let base = b"hello, world";
        // Base 12 bytes, result 10: copy "hello" (offset 0, size 5), insert ", git".
        let mut delta = vec![12, 10, 0x80 | 0x10, 5, 5];
        delta.extend_from_slice(b", git");
        assert_eq!(apply(base, &delta).as_deref(), Some(&b"hello, git"[..]));
        // Copy "world" from offset 7.
        let delta = [12, 5, 0x80 | 0x01 | 0x10, 7, 5];
        assert_eq!(apply(base, &delta).as_deref(), Some(&b"world"[..]));
        // A delta for another base, a copy past the base's end, a reserved command.
        assert_eq!(apply(base, &[11, 5, 0x80 | 0x10, 5]), None);
        assert_eq!(apply(base, &[12, 5, 0x80 | 0x01 | 0x10, 10, 5]), None);
        assert_eq!(apply(base, &[12, 1, 0]), None);
    }
}
