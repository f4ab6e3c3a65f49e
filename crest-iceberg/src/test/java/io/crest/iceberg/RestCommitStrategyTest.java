package io.crest.iceberg;

/** {@link CommitStrategyTest} against Iceberg's REST catalog server, a separate process on loopback. */
class RestCommitStrategyTest extends CommitStrategyTest {
  @Override
  boolean overRest() {
    return true;
  }
}
