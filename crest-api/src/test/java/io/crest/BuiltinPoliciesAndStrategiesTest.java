package io.crest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.testing.CommitStrategyContract;
import io.crest.testing.SchemaEvolutionPolicyContract;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class BuiltinPoliciesAndStrategiesTest {

  private static Set<SchemaChange.Kind> allowed(SchemaEvolutionPolicy policy) {
    Set<SchemaChange.Kind> kinds = EnumSet.noneOf(SchemaChange.Kind.class);
    for (SchemaChange.Kind kind : SchemaChange.Kind.values()) {
      if (policy.allows(new SchemaChange(kind, "c", "int", "long"))) {
        kinds.add(kind);
      }
    }
    return kinds;
  }

  @Test
  void policies_growFromStrictToFull_andNeverAllowIncompatibleTypes() {
    assertThat(allowed(SchemaEvolutionPolicy.strict())).isEmpty();
    assertThat(allowed(SchemaEvolutionPolicy.addColumns()))
        .containsExactly(SchemaChange.Kind.ADD_COLUMN);
    assertThat(allowed(SchemaEvolutionPolicy.widen())).containsExactlyInAnyOrder(
        SchemaChange.Kind.ADD_COLUMN, SchemaChange.Kind.WIDEN_TYPE, SchemaChange.Kind.MAKE_OPTIONAL);
    assertThat(allowed(SchemaEvolutionPolicy.full()))
        .containsAll(allowed(SchemaEvolutionPolicy.widen()))
        .contains(SchemaChange.Kind.MISSING_COLUMN, SchemaChange.Kind.REORDER)
        .doesNotContain(SchemaChange.Kind.INCOMPATIBLE_TYPE);
  }

  @Test
  void schemaChange_describesItselfWithColumnAndTypes() {
    assertThat(new SchemaChange(SchemaChange.Kind.INCOMPATIBLE_TYPE, "id", "long", "string"))
        .hasToString("INCOMPATIBLE_TYPE 'id' (table: long, batch: string)");
    assertThat(new SchemaChange(SchemaChange.Kind.ADD_COLUMN, "p.x", null, "int"))
        .hasToString("ADD_COLUMN 'p.x' (batch: int)");
  }

  @Test
  void upsert_withBadKeys_isRejected() {
    assertThatThrownBy(CommitStrategy::upsert)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot create upsert strategy: no key column given");
    assertThatThrownBy(() -> CommitStrategy.upsert("id", "id"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot create upsert strategy: key column 'id' given twice");
    assertThatThrownBy(() -> CommitStrategy.upsertWithOps("id", "id"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("op column 'id' must be a non-blank column that is not a key");
  }

  @Test
  void strategies_sayWhatTheyAre() {
    assertThat(CommitStrategy.append().name()).isEqualTo("append");
    assertThat(CommitStrategy.upsertWithOps("op", "id", "region").name())
        .isEqualTo("upsert[id, region] with ops in op");
    assertThat(CommitStrategy.upsert("id").keyColumns()).isEqualTo(List.of("id"));
  }

  @Nested
  class Strict extends SchemaEvolutionPolicyContract {
    @Override
    protected SchemaEvolutionPolicy policy() {
      return SchemaEvolutionPolicy.strict();
    }
  }

  @Nested
  class AddColumns extends SchemaEvolutionPolicyContract {
    @Override
    protected SchemaEvolutionPolicy policy() {
      return SchemaEvolutionPolicy.addColumns();
    }
  }

  @Nested
  class Widen extends SchemaEvolutionPolicyContract {
    @Override
    protected SchemaEvolutionPolicy policy() {
      return SchemaEvolutionPolicy.widen();
    }
  }

  @Nested
  class Full extends SchemaEvolutionPolicyContract {
    @Override
    protected SchemaEvolutionPolicy policy() {
      return SchemaEvolutionPolicy.full();
    }
  }

  @Nested
  class Append extends CommitStrategyContract {
    @Override
    protected CommitStrategy strategy() {
      return CommitStrategy.append();
    }
  }

  @Nested
  class OverwritePartitions extends CommitStrategyContract {
    @Override
    protected CommitStrategy strategy() {
      return CommitStrategy.overwritePartitions();
    }
  }

  @Nested
  class Upsert extends CommitStrategyContract {
    @Override
    protected CommitStrategy strategy() {
      return CommitStrategy.upsertWithOps("op", "id");
    }
  }
}
