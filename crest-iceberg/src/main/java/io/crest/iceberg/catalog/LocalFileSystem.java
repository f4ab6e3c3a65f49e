package io.crest.iceberg.catalog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsAction;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's raw local file system (no {@code .crc} side files, no checksum pass) that sets file
 * permissions through {@code java.nio} instead of forking a {@code chmod} process per file, which
 * Hadoop does when its native library is absent (as it is in an embedded JVM). Used for {@code
 * file:} paths by the catalogs {@code IcebergCatalogs} opens.
 */
public final class LocalFileSystem extends RawLocalFileSystem {
  @Override
  public void setPermission(Path p, FsPermission permission) throws IOException {
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    add(perms, permission.getUserAction(), PosixFilePermission.OWNER_READ,
        PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
    add(perms, permission.getGroupAction(), PosixFilePermission.GROUP_READ,
        PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE);
    add(perms, permission.getOtherAction(), PosixFilePermission.OTHERS_READ,
        PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    try {
      Files.setPosixFilePermissions(pathToFile(p).toPath(), perms);
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system (Windows): the file keeps what the OS gave it
    }
  }

  private static void add(Set<PosixFilePermission> perms, FsAction action,
      PosixFilePermission read, PosixFilePermission write, PosixFilePermission execute) {
    if (action.implies(FsAction.READ)) {
      perms.add(read);
    }
    if (action.implies(FsAction.WRITE)) {
      perms.add(write);
    }
    if (action.implies(FsAction.EXECUTE)) {
      perms.add(execute);
    }
  }
}
