package io.crest.iceberg;

/** {@link PartitioningTest} against Iceberg's REST catalog server, a separate process on loopback. */
class RestPartitioningTest extends PartitioningTest {
  @Override
  boolean overRest() {
    return true;
  }
}
