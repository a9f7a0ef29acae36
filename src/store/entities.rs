//! Entity tables: the normalised attributes of SPEC §1.3, stored once.
//!
//! Each entity lives in a [`Table`] under a dense `u32` id. Every entity that
//! records can reach carries a bitmap of the record slots that reach it
//! (`rows`): that bitmap *is* the secondary index for the entity's filter.
//!
//! Invariant (checked by `validate`): between writes, every live entity is
//! reached by at least one record, so `rows` is never empty (component usages
//! chain their rows through `first` and `Row::next` instead).

use std::hash::BuildHasher;
use std::num::NonZeroU32;

use hashbrown::HashTable;
use roaring::RoaringBitmap;
use uuid::Uuid;

use crate::wire::time::Micros;

/// A component usage: its report date, billing period, type, unit and resource.
#[derive(Clone, Debug)]
pub(crate) struct Cu {
    pub(crate) uuid: Uuid,
    pub(crate) date: Micros,
    /// Billing period as days since 1970-01-01.
    pub(crate) period: i32,
    /// Id in the component type dictionary.
    pub(crate) ctype: u32,
    /// Id + 1 in the measured unit dictionary: non-zero, so that the table's
    /// `Option<Cu>` needs no tag (48 bytes a component usage, not 56).
    unit: NonZeroU32,
    /// Id in the resource table.
    pub(crate) resource: u32,
    /// The first record of this component usage's row chain (`Row::next`
    /// links the rest), or `NO_SLOT` when it has none.
    pub(crate) first: u32,
}

impl Cu {
    /// The measured unit's dictionary id.
    pub(crate) fn unit(&self) -> u32 {
        self.unit.get() - 1
    }

    pub(crate) fn set_unit(&mut self, unit: u32) {
        self.unit = NonZeroU32::new(unit.wrapping_add(1)).expect("fewer than 2^32 - 1 units");
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        uuid: Uuid,
        date: Micros,
        period: i32,
        ctype: u32,
        unit: u32,
        resource: u32,
        first: u32,
    ) -> Cu {
        let mut cu = Cu {
            uuid,
            date,
            period,
            ctype,
            unit: NonZeroU32::MIN,
            resource,
            first,
        };
        cu.set_unit(unit);
        cu
    }
}

/// A resource: its name, offering and project.
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub(crate) uuid: Uuid,
    pub(crate) name: Box<str>,
    pub(crate) offering: u32,
    pub(crate) project: u32,
    pub(crate) rows: RoaringBitmap,
}

/// An offering: its name.
#[derive(Clone, Debug)]
pub(crate) struct Offering {
    pub(crate) uuid: Uuid,
    pub(crate) name: Box<str>,
    pub(crate) rows: RoaringBitmap,
}

/// A project: its name and customer.
#[derive(Clone, Debug)]
pub(crate) struct Project {
    pub(crate) uuid: Uuid,
    pub(crate) name: Box<str>,
    pub(crate) customer: u32,
    pub(crate) rows: RoaringBitmap,
}

/// A customer: its name.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub(crate) uuid: Uuid,
    pub(crate) name: Box<str>,
    pub(crate) rows: RoaringBitmap,
}

/// An entity identified by a uuid.
pub(crate) trait Keyed {
    fn uuid(&self) -> Uuid;
}

macro_rules! keyed {
    ($($t:ty),*) => {$(
        impl Keyed for $t {
            fn uuid(&self) -> Uuid {
                self.uuid
            }
        }
    )*};
}
keyed!(Cu, Resource, Offering, Project, Customer, User);

/// An offering user, named by records' `user` field.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub(crate) uuid: Uuid,
    /// Records naming this user.
    pub(crate) refs: u32,
}

/// Entities addressed by uuid, stored under dense ids that are reused after
/// removal. The uuid index holds ids only and reads the uuid back from the entity.
#[derive(Clone, Debug)]
pub(crate) struct Table<T> {
    ids: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            ids: HashTable::new(),
            hasher: Default::default(),
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Keyed> Table<T> {
    pub(crate) fn id(&self, uuid: &Uuid) -> Option<u32> {
        let h = self.hasher.hash_one(uuid);
        self.ids
            .find(h, |&id| {
                self.items[id as usize]
                    .as_ref()
                    .is_some_and(|t| t.uuid() == *uuid)
            })
            .copied()
    }

    pub(crate) fn get(&self, id: u32) -> &T {
        self.items[id as usize].as_ref().expect("live entity id")
    }

    pub(crate) fn get_mut(&mut self, id: u32) -> &mut T {
        self.items[id as usize].as_mut().expect("live entity id")
    }

    pub(crate) fn insert(&mut self, uuid: Uuid, item: T) -> u32 {
        debug_assert_eq!(uuid, item.uuid());
        let id = match self.free.pop() {
            Some(id) => {
                self.items[id as usize] = Some(item);
                id
            }
            None => {
                self.items.push(Some(item));
                u32::try_from(self.items.len() - 1).expect("fewer than 2^32 entities")
            }
        };
        let (items, hasher) = (&self.items, &self.hasher);
        let rehash = |&i: &u32| {
            hasher.hash_one(
                items[i as usize]
                    .as_ref()
                    .expect("indexed ids are live")
                    .uuid(),
            )
        };
        self.ids
            .insert_unique(self.hasher.hash_one(uuid), id, rehash);
        id
    }

    pub(crate) fn remove(&mut self, uuid: &Uuid) -> Option<T> {
        let id = self.id(uuid)?;
        let h = self.hasher.hash_one(uuid);
        if let Ok(e) = self.ids.find_entry(h, |&i| i == id) {
            e.remove();
        }
        self.free.push(id);
        self.items[id as usize].take()
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// `(id, entity)` of every live entity.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i as u32, t)))
    }

    /// `(id, entity)` of every live entity, mutably (entities only; the
    /// uuid index reads `uuid`, which callers must not change).
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut T)> {
        self.items
            .iter_mut()
            .enumerate()
            .filter_map(|(i, t)| t.as_mut().map(|t| (i as u32, t)))
    }

    pub(crate) fn is_free(&self, id: u32) -> bool {
        self.items.get(id as usize).is_none_or(Option::is_none)
    }

    /// Drops spare capacity of the arena (a bulk load's doubling leaves up
    /// to half of it unused).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 5
            + self.items.capacity() * std::mem::size_of::<Option<T>>()
            + self.free.capacity() * 4
    }
}
