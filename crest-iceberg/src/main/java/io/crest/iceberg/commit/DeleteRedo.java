package io.crest.iceberg.commit;

import org.apache.iceberg.Table;

/**
 * Writes a file group's position deletes again against the table as it is now, for a group whose
 * commit failed validation because the rows it deleted moved since its deletes were resolved
 * (compaction rewrote their files, or another writer deleted from them). Made by the writer of the
 * group, run by the committer on its thread.
 */
public interface DeleteRedo {

  /**
   * Returns the group with the same data files and deletes resolved against {@code table}'s
   * current snapshot (refreshed by the caller). The group's earlier delete files are the caller's
   * to delete.
   */
  TableCommittable.FileGroup redo(Table table);
}
