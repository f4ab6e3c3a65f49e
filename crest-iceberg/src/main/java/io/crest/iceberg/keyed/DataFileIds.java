package io.crest.iceberg.keyed;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.StructLike;

/**
 * The small ids a keyed writer's locations carry for data files ({@link LongKeyIndex#location}):
 * one per data file seen in a run, and <em>slots</em>, ids lent to the columnar writer's open
 * partition writers until their rows are placed in real files, then given back for reuse. Not
 * thread-safe: the writer thread owns it.
 */
final class DataFileIds {
  /** A data file rows live in, or a slot (no path): where to address its position deletes. */
  record Ref(String path, PartitionSpec spec, StructLike partition) {}

  private final String tableName;
  private final List<Ref> refs = new ArrayList<>(); // by id
  private final Map<String, Integer> ids = new HashMap<>();
  private final Set<Integer> openSlots = new HashSet<>();
  private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>(); // settled, reusable

  DataFileIds(String tableName) {
    this.tableName = tableName;
  }

  /** The id of data file {@code path}, given one on first sight. */
  int id(String path, PartitionSpec spec, StructLike partition) {
    Integer id = ids.get(path);
    return id != null ? id : register(new Ref(path, spec, partition));
  }

  /** The id of data file {@code path}, or null if it has none. */
  Integer find(String path) {
    return ids.get(path);
  }

  Ref get(int id) {
    return refs.get(id);
  }

  /** An id for an open partition writer of {@code spec}'s {@code partition}. */
  int openSlot(PartitionSpec spec, StructLike partition) {
    Ref ref = new Ref(null, spec, partition);
    Integer id = freeSlots.poll();
    if (id == null) {
      id = register(ref);
    } else {
      refs.set(id, ref);
    }
    openSlots.add(id);
    return id;
  }

  /** Gives back every open slot's id (its rows were placed, or dropped). */
  void freeSlots() {
    for (Integer id : openSlots) {
      refs.set(id, null);
      freeSlots.add(id);
    }
    openSlots.clear();
  }

  private int register(Ref ref) {
    int id = refs.size();
    if (id > LongKeyIndex.MAX_FILE_ID) {
      throw new IllegalStateException("Cannot index more than " + LongKeyIndex.MAX_FILE_ID
          + " data files of table " + tableName + " in one run");
    }
    refs.add(ref);
    if (ref.path() != null) {
      ids.put(ref.path(), id);
    }
    return id;
  }
}
