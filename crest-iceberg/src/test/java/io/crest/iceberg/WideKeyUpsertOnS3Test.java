package io.crest.iceberg;

/**
 * {@link WideKeyUpsertTest} with the warehouse on S3-compatible object storage (Iceberg's
 * S3FileIO against an S3 API server on loopback): deletion vectors, position delete files,
 * rewritten data files and keys resolved from the table, all through S3.
 */
class WideKeyUpsertOnS3Test extends WideKeyUpsertTest {
  @Override
  boolean onS3() {
    return true;
  }
}
