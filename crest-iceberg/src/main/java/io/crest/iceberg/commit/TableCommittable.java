package io.crest.iceberg.commit;

import io.crest.spi.Committable;
import io.crest.spi.SourcePosition;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;

/**
 * What the writer side of an Iceberg sink hands its committer for one flush: closed data and
 * delete files in groups, every stream's position after the flush, and a fresh commit id chosen
 * before the first attempt. A committable with no files only moves the positions (a flush whose
 * batches were all dead-lettered). Immutable and thread-safe; the files are owned by whoever
 * commits or aborts it.
 */
public final class TableCommittable implements Committable {

  /**
   * Data files and the delete files that go with them in one snapshot operation. For upserts
   * each group is its own row delta, committed in order: a group's equality deletes must not meet
   * rows of a later group. A group of position deletes also names the delete files it replaces
   * (a data file's earlier deletion vector, merged into the new one), the data files already in
   * the table it deletes from (which must still exist), and the snapshot its deletes were
   * resolved against (later concurrent deletes of the same files make the commit fail), and how
   * to write its deletes again when that happens ({@code null}: the commit fails). A keyed
   * group may also rewrite data files of the table without their deleted rows: {@code
   * rewrittenData} holds the rows kept (not new rows: not counted as written), {@code
   * removedData} the files they replace (whose delete files are among {@code replacedDeletes}).
   * A redo drops the rewrite. A group whose deletes were resolved before the committable
   * committed just before it had landed ({@code includesPreviousCommit}: against {@code
   * validateFromSnapshot} plus that commit's files, as its writer wrote them) is validated from
   * the snapshot that commit made, if that commit landed as written right on {@code
   * validateFromSnapshot}; else from {@code validateFromSnapshot}, where the previous commit's own
   * deletes count as conflicts (the group is redone then). Immutable.
   */
  public record FileGroup(
      List<DataFile> data,
      List<DeleteFile> deletes,
      List<DeleteFile> replacedDeletes,
      java.util.Set<String> referencedDataFiles,
      Long validateFromSnapshot,
      DeleteRedo redo,
      List<DataFile> rewrittenData,
      List<DataFile> removedData,
      boolean includesPreviousCommit) {
    /** Copies the collections. */
    public FileGroup {
      data = List.copyOf(data);
      deletes = List.copyOf(deletes);
      replacedDeletes = List.copyOf(replacedDeletes);
      referencedDataFiles = java.util.Set.copyOf(referencedDataFiles);
      rewrittenData = List.copyOf(rewrittenData);
      removedData = List.copyOf(removedData);
    }

    /** A group that rewrites no data file. */
    public FileGroup(List<DataFile> data, List<DeleteFile> deletes,
        List<DeleteFile> replacedDeletes, java.util.Set<String> referencedDataFiles,
        Long validateFromSnapshot, DeleteRedo redo) {
      this(data, deletes, replacedDeletes, referencedDataFiles, validateFromSnapshot, redo,
          List.of(), List.of(), false);
    }

    /** Data files and the delete files that go with them, nothing to validate. */
    public FileGroup(List<DataFile> data, List<DeleteFile> deletes) {
      this(data, deletes, List.of(), java.util.Set.of(), null, null);
    }

    boolean isEmpty() {
      return data.isEmpty() && deletes.isEmpty() && replacedDeletes.isEmpty()
          && rewrittenData.isEmpty() && removedData.isEmpty();
    }
  }

  private final String commitId;
  private final List<FileGroup> groups;
  private final Map<String, SourcePosition> positions;
  private final long rows;
  private final long bytes;
  private final int dataFiles;
  private final int deleteFiles;

  private TableCommittable(
      String commitId, List<FileGroup> groups, Map<String, SourcePosition> positions) {
    this.commitId = Objects.requireNonNull(commitId, "commitId");
    this.groups = groups.stream().filter(g -> !g.isEmpty()).toList();
    this.positions = java.util.Collections.unmodifiableMap(new TreeMap<>(positions));
    long r = 0;
    long b = 0;
    int data = 0;
    int deletes = 0;
    for (FileGroup g : this.groups) {
      for (DataFile file : g.data()) {
        r += file.recordCount();
        b += file.fileSizeInBytes();
        data++;
      }
      for (DeleteFile file : g.deletes()) {
        // A deletion vector's file size is its whole Puffin file's, shared by the flush's DVs.
        Long content = file.contentSizeInBytes();
        b += file.format() == org.apache.iceberg.FileFormat.PUFFIN && content != null
            ? content : file.fileSizeInBytes();
        deletes++;
      }
    }
    this.rows = r;
    this.bytes = b;
    this.dataFiles = data;
    this.deleteFiles = deletes;
  }

  /** A committable of {@code groups} under a fresh commit id; empty groups are left out. */
  public static TableCommittable of(List<FileGroup> groups, Map<String, SourcePosition> positions) {
    return of(UUID.randomUUID().toString(), groups, positions);
  }

  /** A committable of {@code groups} under {@code commitId}; empty groups are left out. */
  public static TableCommittable of(
      String commitId, List<FileGroup> groups, Map<String, SourcePosition> positions) {
    return new TableCommittable(commitId, groups, positions);
  }

  /** This committable with {@code newGroups}: the same commit id and positions. */
  public TableCommittable withGroups(List<FileGroup> newGroups) {
    return new TableCommittable(commitId, newGroups, positions);
  }

  @Override
  public String commitId() {
    return commitId;
  }

  /** The non-empty file groups, in commit order. */
  public List<FileGroup> groups() {
    return groups;
  }

  /** Whether the committable holds no file and only moves the positions. */
  public boolean positionsOnly() {
    return groups.isEmpty();
  }

  @Override
  public long rowCount() {
    return rows;
  }

  /** Data and delete files together. */
  @Override
  public int fileCount() {
    return dataFiles + deleteFiles;
  }

  /** The number of delete files. */
  public int deleteFileCount() {
    return deleteFiles;
  }

  @Override
  public long byteCount() {
    return bytes;
  }

  @Override
  public Map<String, SourcePosition> positions() {
    return positions;
  }

  @Override
  public String toString() {
    return "TableCommittable[" + commitId + ", " + rows + " rows, " + dataFiles + " data files, "
        + deleteFiles + " delete files]";
  }
}
