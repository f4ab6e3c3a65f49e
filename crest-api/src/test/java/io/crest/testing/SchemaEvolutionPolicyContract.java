package io.crest.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.crest.SchemaChange;
import io.crest.SchemaEvolutionPolicy;
import org.junit.jupiter.api.Test;

/**
 * What every {@link SchemaEvolutionPolicy} must do. Extend it with {@link #policy()} returning the
 * implementation under test.
 */
public abstract class SchemaEvolutionPolicyContract {

  /** The policy under test. */
  protected abstract SchemaEvolutionPolicy policy();

  private static SchemaChange sample(SchemaChange.Kind kind) {
    return new SchemaChange(kind, "payload.amount", "int", "long");
  }

  @Test
  void name_isShortAndNotBlank() {
    assertThat(policy().name()).isNotBlank().hasSizeLessThan(80);
  }

  @Test
  void allows_answersEveryKind_withoutThrowing() {
    for (SchemaChange.Kind kind : SchemaChange.Kind.values()) {
      assertThatCode(() -> policy().allows(sample(kind))).doesNotThrowAnyException();
    }
  }

  @Test
  void allows_isDeterministic() {
    for (SchemaChange.Kind kind : SchemaChange.Kind.values()) {
      boolean first = policy().allows(sample(kind));
      for (int i = 0; i < 3; i++) {
        assertThat(policy().allows(sample(kind))).as("%s, asked again", kind).isEqualTo(first);
      }
    }
  }
}
