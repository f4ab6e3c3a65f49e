package io.crest.iceberg;

/** {@link SchemaEvolutionTest} against Iceberg's REST catalog server, a separate process on loopback. */
class RestSchemaEvolutionTest extends SchemaEvolutionTest {
  @Override
  boolean overRest() {
    return true;
  }
}
