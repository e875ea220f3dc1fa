"""The curated set, grown by extension from its saved state.

Why: re-merging every shard's winners whenever one shard lands costs as much as curating
everything again. The curated set instead keeps a record (``selections/merged/record.json``):
the clustering version and selection settings it was made under, the shards it includes, its
parts (table ``curated_subset``, one file a revision) and the state of the selection (the
contingency counts). New shards extend it: earlier winners stay, the new shards' winners
compete for the new budget by the same objective, with the state as their context, so the
cost is that of the new shards alone. A new clustering version or other selection settings
start a new record: only a deliberate change recomputes everything.

The record is written last: a step that dies before it leaves the old record, whose parts
and state files are untouched (each step writes files of its own, named by revision and a
token). Two steps extending at once (the ``curation`` pool keeps it to one) cannot mix their
files: the record of the last one wins, and shards only the other took in are pending again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.pairing import check_estimator, resolve_pairs
from acav_assets.core.selection.sharded import (
    CANDIDATES_COLUMN,
    WINNERS_TABLE,
    assigned_of,
    group_members,
    group_shards_of,
    group_target,
    merge_shard_winners,
    read_winners,
)
from acav_assets.core.selection.state import SelectionState
from acav_assets.core.storage import StorageRoot

log = logging.getLogger(__name__)

CURATED_TABLE = "curated_subset"
GROUPS_TABLE = "group_selections"
MERGED_FOLDER = "selections/merged"
GROUPS_FOLDER = "selections/groups"
RECORD_FILE = "record.json"


def settings_key(columns: Sequence[str], ks: Sequence[int], options: SelectionOptions) -> str:
    """What a curated set's picks depend on besides the clusterings' version: the search and
    the global target."""
    chosen = {
        **options.search_kwargs(),
        "size": options.size,
        "ratio": options.ratio,
        "columns": list(columns),
        "ks": list(ks),
    }
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class CuratedRecord:
    """What the curated set holds: ``parts`` of table ``curated_subset`` (one a revision),
    the ``shards`` it includes (shard -> the revision that added it), its size, the clips
    its shards had assigned, and F."""

    version: str
    settings: str
    revision: int = 0
    parts: list[str] = field(default_factory=list)
    shards: dict[str, int] = field(default_factory=dict)
    assigned: int = 0
    selected: int = 0
    objective: float = 0.0
    token: str = ""  # of the step that wrote this revision: its files are its own

    @property
    def name(self) -> str:
        return f"r{self.revision:05d}-{self.token}"

    def state_file(self) -> str:
        return f"state-{self.name}.npz"

    def trace_file(self) -> str:
        return f"trace-{self.name}.npz"

    def shards_file(self) -> str:
        return f"shards-{self.name}.parquet"

    def to_json(self) -> bytes:
        body = {k: v for k, v in asdict(self).items() if k != "shards"}
        return json.dumps(body | {"shards_file": self.shards_file()}, indent=1).encode()


def _read_record(root: StorageRoot) -> tuple[CuratedRecord, SelectionState] | None:
    path = root.path(MERGED_FOLDER, RECORD_FILE)
    if not root.fs.exists(path):
        return None
    body = json.loads(root.read_bytes(path))
    body.pop("shards_file")
    record = CuratedRecord(**body)
    shards = pl.read_parquet(
        io.BytesIO(root.read_bytes(root.path(MERGED_FOLDER, record.shards_file())))
    )
    record.shards = dict(zip(shards["shard"], shards["revision"], strict=True))
    state = SelectionState.from_bytes(
        root.read_bytes(root.path(MERGED_FOLDER, record.state_file()))
    )
    return record, state


def load_merged_selection(root: StorageRoot) -> tuple[SelectionState, np.ndarray, str]:
    """The state of the current curated set, the trace of its last extension and the
    strategy that made it (for the report)."""
    saved = _read_record(root)
    if saved is None:
        raise FileNotFoundError(f"no curated set under {root.path(MERGED_FOLDER)}")
    path = root.path(MERGED_FOLDER, saved[0].trace_file())
    with np.load(io.BytesIO(root.read_bytes(path))) as trace:
        return saved[1], trace["trace"], str(trace["strategy"])


def read_curated_subset(root: StorageRoot, tables: TableStore) -> pl.DataFrame:
    """Every clip of the current curated set (clip_id, rank, from_shard, target), by rank."""
    saved = _read_record(root)
    if saved is None or not saved[0].parts:
        return tables.read(CURATED_TABLE, [])
    return tables.read(CURATED_TABLE, saved[0].parts).sort("rank")


@dataclass(frozen=True)
class GroupWinners:
    """A merge group's winners (clip_id, shard, labels, candidates) among ``shards``, picked
    in the context of revision ``revision`` of the curated set."""

    group: str
    shards: tuple[str, ...]
    revision: int
    assigned: int
    frame: pl.DataFrame


@dataclass(frozen=True)
class Extension:
    """One extension of the curated set: how many clips it added (in ``parts`` of table
    ``curated_subset``, one a batch of the final merge, never all in memory at once), the
    shards it took in, the budget and what the search reached."""

    record: CuratedRecord
    added: int
    parts: list[str]
    shards: list[str]
    groups: int
    groups_inline: int
    batches: int
    candidates: int
    budget: int
    objective: float
    random_objective: float
    fresh: bool
    seconds: float


@dataclass(frozen=True)
class _Take:
    """What the final merge takes from one group: the count of its winners, the clips its
    shards had assigned, and how to read the winners (a saved group's are read only when
    its batch runs)."""

    winners: int
    assigned: int
    read: Callable[[], pl.DataFrame]


def _batches(sizes: list[int], limit: int) -> Iterator[list[int]]:
    """Indices of consecutive groups whose winners add up to at most ``limit`` (one group if
    larger)."""
    batch: list[int] = []
    total = 0
    for i, size in enumerate(sizes):
        if batch and total + size > limit:
            yield batch
            batch, total = [], 0
        batch.append(i)
        total += size
    if batch:
        yield batch


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` in parts proportional to ``weights`` (largest remainders), summing to it."""
    whole = sum(weights)
    if whole == 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: parts[i] - exact[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


class CuratedSet:
    """The curated set of a storage root for clusterings ``columns``/``ks`` of ``version``
    and the selection ``options``; a new, empty one when the saved record was made under
    another version or other settings."""

    def __init__(
        self,
        root: StorageRoot,
        tables: TableStore,
        columns: Sequence[str],
        ks: Sequence[int],
        version: str,
        options: SelectionOptions,
    ) -> None:
        self.root, self.tables = root, tables
        self.columns, self.ks = list(columns), list(ks)
        self.version, self.options = version, options
        key = settings_key(columns, ks, options)
        saved = _read_record(root)
        if saved is not None and (saved[0].version, saved[0].settings) == (version, key):
            self.record, self.state, self.fresh = saved[0], saved[1], False
        else:
            self.record, self.state, self.fresh = CuratedRecord(version, key), None, True

    def pending(self, candidates: Sequence[str] | None = None) -> list[str]:
        """Shards selected under this version that the curated set does not include (among
        ``candidates`` only, when given: a group's possible members)."""
        if candidates is None:
            listed = self.tables.shards(WINNERS_TABLE)
        else:
            listed = [s for s in candidates if self.tables.has_shard(WINNERS_TABLE, s)]
        todo = [s for s in listed if s not in self.record.shards]
        if not todo:
            return []
        versions = self.tables.scan(WINNERS_TABLE, todo, ["clustering_version"])
        current = versions.filter(pl.col("clustering_version") == self.version)
        return sorted(set(current["shard"]))

    def groups(self, shards: Sequence[str]) -> dict[str, list[str]]:
        return group_shards_of(list(shards), self.options.merge_group_shards)

    def group_pending(self, group: str) -> list[str]:
        """The new shards of merge group ``group``: O(group) requests."""
        return self.pending(group_members(group, self.options.merge_group_shards))

    def select_group(self, group: str, shards: Sequence[str]) -> GroupWinners:
        """Merge the winners of ``shards`` (all of ``group``) to :func:`group_target`, in the
        context of the curated set's state."""
        winners = read_winners(self.tables, WINNERS_TABLE, list(shards), self.columns, self.version)
        assigned = assigned_of(winners)
        target = group_target(winners.height, assigned, self.options.ratio, self.options.size)
        frame = winners
        if target < winners.height:
            picks, _ = merge_shard_winners(
                winners, self.columns, self.ks, target, state=self.state,
                **self.options.search_kwargs(),
            )  # fmt: skip
            frame = winners.join(picks.select("clip_id", "rank"), on="clip_id", how="inner")
            frame = frame.sort("shard", "clip_id").drop("rank")
        log.info("merge group %s: %d of %d winners of %d shards", group, frame.height,
                 winners.height, len(shards))  # fmt: skip
        return GroupWinners(group, tuple(shards), self.record.revision, assigned, frame)

    def save_group(self, winners: GroupWinners) -> None:
        """Keep a group's winners (table ``group_selections``) and what they were picked
        from (``selections/groups/<group>.json``), for the final merge to take."""
        frame = winners.frame.rename({"shard": "from_shard"})
        self.tables.write(GROUPS_TABLE, winners.group, frame)
        body = {
            "version": self.version,
            "settings": self.record.settings,
            "revision": winners.revision,
            "shards": list(winners.shards),
            "assigned": winners.assigned,
            "winners": winners.frame.height,
        }
        self.root.write_bytes(self._group_file(winners.group), json.dumps(body).encode())

    def _saved_group(self, group: str, shards: Sequence[str]) -> dict | None:
        """What ``selections/groups/<group>.json`` says of the saved winners of ``group`` if
        they were picked from exactly ``shards`` in the context of the current revision."""
        path = self._group_file(group)
        if not self.root.fs.exists(path) or not self.tables.has_shard(GROUPS_TABLE, group):
            return None
        body = json.loads(self.root.read_bytes(path))
        current = (self.version, self.record.settings, self.record.revision, list(shards))
        if (body["version"], body["settings"], body["revision"], body["shards"]) != current:
            return None
        return body if "winners" in body else None

    def _read_group(self, group: str) -> pl.DataFrame:
        columns = ["clip_id", "from_shard", *self.columns, CANDIDATES_COLUMN]
        frame = self.tables.scan(GROUPS_TABLE, [group], columns).drop("shard")
        return frame.rename({"from_shard": "shard"}).sort("shard", "clip_id")

    def load_group(self, group: str, shards: Sequence[str]) -> GroupWinners | None:
        """The saved winners of ``group`` if they were picked from exactly ``shards`` in the
        context of the current revision, else None (then the final merge picks them itself)."""
        body = self._saved_group(group, shards)
        if body is None:
            return None
        frame = self._read_group(group)
        return GroupWinners(group, tuple(shards), body["revision"], body["assigned"], frame)

    def _group_file(self, group: str) -> str:
        return self.root.path(GROUPS_FOLDER, f"{group}.json")

    def _budget(self, assigned_new: int, candidates: int) -> int:
        """Clips the new shards add: the global target of everything included after them,
        less what the set holds (``size``: until it is full)."""
        options, record = self.options, self.record
        if options.ratio is not None:
            budget = round(options.ratio * (record.assigned + assigned_new)) - record.selected
        elif options.size is not None:
            budget = options.size - record.selected
        else:
            budget = candidates
        return max(0, min(budget, candidates))

    def extend(self, progress: Callable[[int, int], None] | None = None) -> Extension:
        """Take in every pending shard: one group of them is merged directly; several are
        merged a group at a time (saved group winners when fresh), then their winners in
        batches of at most ``merge_batch`` candidates, each extending the state. A batch's
        saved groups are read when it runs and its picks written as they come, so the step
        holds one batch, not every winner (only groups merged here, whose pods did not run,
        are held from the start)."""
        started = time.perf_counter()
        shards = self.pending()
        groups = self.groups(shards)
        takes, inline = self._takes(shards, groups)
        candidates = sum(t.winners for t in takes)
        assigned_new = sum(t.assigned for t in takes)
        budget = self._budget(assigned_new, candidates)
        state, outcome, trace = self.state, None, np.zeros(0)
        revision, token = self.record.revision + 1, uuid.uuid4().hex[:8]
        target = self.record.selected + budget
        parts, added = [], 0
        batches = list(_batches([t.winners for t in takes], self.options.merge_batch))
        shares = _split(budget, [sum(takes[i].assigned for i in b) for b in batches])
        order = ["clip_id", "shard", *self.columns]
        for number, (batch, share) in enumerate(zip(batches, shares, strict=True)):
            frame = pl.concat([takes[i].read().select(order) for i in batch])
            picks, outcome = merge_shard_winners(
                frame, self.columns, self.ks, share, state=state, progress=progress,
                **self.options.search_kwargs(),
            )  # fmt: skip
            del frame
            part = f"r{revision:05d}-{token}-{number:04d}"
            self._write_part(part, picks, self.record.selected + added, target)
            parts.append(part)
            added += picks.height
            state = outcome.selector.state_
            trace = np.concatenate([trace, outcome.trace])
        if shards or self.fresh:
            if not parts:
                parts.append(f"r{revision:05d}-{token}-0000")
                self._write_part(parts[0], None, self.record.selected, target)
            self._commit(token, parts, shards, assigned_new, added, state, trace)
        random = outcome.random_objective if outcome is not None else self.record.objective
        seconds = time.perf_counter() - started
        log.info(
            "curated set r%d: %d shards, %d candidates, +%d clips (budget %d) in %.1fs",
            self.record.revision, len(shards), candidates, added, budget, seconds,
        )  # fmt: skip
        return Extension(
            record=self.record, added=added, parts=parts, shards=shards,
            groups=len(groups), groups_inline=inline, batches=len(batches),
            candidates=candidates, budget=budget, objective=self.record.objective,
            random_objective=random, fresh=self.fresh, seconds=seconds,
        )  # fmt: skip

    def _takes(self, shards: list[str], groups: dict[str, list[str]]) -> tuple[list[_Take], int]:
        """What the final merge takes from each group, and how many groups it had to merge
        itself (no fresh saved winners)."""
        if not shards:
            return [], 0
        if len(groups) <= 1:
            winners = read_winners(self.tables, WINNERS_TABLE, shards, self.columns, self.version)
            return [_Take(winners.height, assigned_of(winners), lambda: winners)], 0
        takes, inline = [], 0
        for group, members in groups.items():
            body = self._saved_group(group, members)
            if body is not None:
                read = functools.partial(self._read_group, group)
                takes.append(_Take(body["winners"], body["assigned"], read))
                continue
            picked = self.select_group(group, members)
            inline += 1
            takes.append(_Take(picked.frame.height, picked.assigned, lambda f=picked.frame: f))
        return takes, inline

    def _write_part(
        self, part: str, picks: pl.DataFrame | None, first_rank: int, target: int
    ) -> None:
        """One part of table ``curated_subset``: ``picks`` ranked from ``first_rank``."""
        if picks is None:
            picks = pl.DataFrame(
                schema={"clip_id": pl.String, "rank": pl.Int64, "from_shard": pl.String}
            )
        frame = picks.select("clip_id", "from_shard").with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + first_rank).alias("rank"),
            pl.lit(target, dtype=pl.Int64).alias("target"),
        )
        self.tables.write(
            CURATED_TABLE, part, frame.select("clip_id", "rank", "from_shard", "target")
        )

    def _commit(
        self,
        token: str,
        parts: list[str],
        shards: list[str],
        assigned_new: int,
        added: int,
        state: SelectionState | None,
        trace: np.ndarray,
    ) -> None:
        """Write the state, shard list and trace of the next revision (its ``parts`` are
        written), then the record that points at them."""
        record = self.record
        revision = record.revision + 1
        if state is None:
            pairs = resolve_pairs(self.columns, self.options.pairing)
            state = SelectionState(self.columns, self.ks, pairs)
        included = {**record.shards, **dict.fromkeys(shards, revision)}
        new = CuratedRecord(
            version=record.version, settings=record.settings, revision=revision,
            parts=[*record.parts, *parts], shards=included,
            assigned=record.assigned + assigned_new, selected=record.selected + added,
            objective=state.objective(check_estimator(self.options.estimator)), token=token,
        )  # fmt: skip
        folder = MERGED_FOLDER
        self.root.write_bytes(self.root.path(folder, new.state_file()), state.to_bytes())
        buffer = io.BytesIO()
        pl.DataFrame(
            {"shard": list(included), "revision": list(included.values())},
            schema={"shard": pl.String, "revision": pl.Int64},
        ).write_parquet(buffer)
        self.root.write_bytes(self.root.path(folder, new.shards_file()), buffer.getvalue())
        buffer = io.BytesIO()
        np.savez(buffer, trace=trace, strategy=np.array(self.options.strategy))
        self.root.write_bytes(self.root.path(folder, new.trace_file()), buffer.getvalue())
        self.root.write_bytes(self.root.path(folder, RECORD_FILE), new.to_json())
        self.record, self.state, self.fresh = new, state, False
