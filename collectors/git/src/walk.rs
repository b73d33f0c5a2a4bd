//! Walking history newest first by committer time, as `git log` does: gitoxide's walk,
//! fed by the commit-graph where there is one and by [`Objects`] for the commits it has to
//! read, so a scan never opens gitoxide's own object store (which checks the whole pack
//! index first: 4 M instructions on a 700,000-object pack, a tenth of a scan).

use std::cell::RefCell;

use gix::ObjectId;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::{self, CommitTimeOrder};

use crate::objects::{ObjectError, Objects};

/// One commit of a walk: its id and, when the walk knows it, its committer time.
pub type Step = Result<(ObjectId, Option<i64>), String>;

/// The commits reachable from `tip` and not from `hidden`, newest first.
///
/// A shallow repository or one with object replacements is walked by gitoxide's own
/// walk, which knows the grafts; every other through `objects`.
///
/// # Errors
/// Why the walk cannot start.
pub fn newest_first<'a>(
    repo: &'a gix::Repository,
    objects: &'a RefCell<Objects<'a>>,
    tip: ObjectId,
    hidden: Option<ObjectId>,
) -> Result<Box<dyn Iterator<Item = Step> + 'a>, String> {
    let replaced = !repo.objects.ignore_replacements
        && repo.objects.store_ref().replacements().next().is_some();
    if repo.is_shallow().unwrap_or(true) || replaced {
        let walk = repo
            .rev_walk([tip])
            .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
            .with_hidden(hidden)
            .all()
            .map_err(|e| e.to_string())?;
        return Ok(Box::new(
            walk.map(|info| info.map(|i| (i.id, i.commit_time)).map_err(|e| e.to_string())),
        ));
    }
    let graph = repo.commit_graph_if_enabled().ok().flatten();
    let walk = gix::traverse::commit::Simple::new([tip], Via(objects))
        .sorting(simple::Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
        .map_err(|e| e.to_string())?
        .commit_graph(graph)
        .hide(hidden)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(
        walk.map(|info| info.map(|i| (i.id, i.commit_time)).map_err(|e| e.to_string())),
    ))
}

/// [`Objects`] as gitoxide's walk asks for them.
struct Via<'a, 'r>(&'a RefCell<Objects<'r>>);

impl gix::objs::Find for Via<'_, '_> {
    fn try_find<'b>(
        &self,
        id: &gix::oid,
        buffer: &'b mut Vec<u8>,
    ) -> gix::Result<Option<gix::objs::Data<'b>>> {
        let mut objects = self.0.borrow_mut();
        let object = match objects.find(id) {
            Ok(object) => object,
            Err(ObjectError::Missing { .. }) => return Ok(None),
            Err(e) => return Err(gix::Error::from_error(e)),
        };
        buffer.clear();
        buffer.extend_from_slice(&object.data);
        Ok(Some(gix::objs::Data {
            kind: object.kind,
            object_hash: objects.object_hash(),
            data: buffer,
        }))
    }
}
