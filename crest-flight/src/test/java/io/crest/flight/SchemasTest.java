package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.junit.jupiter.api.Test;

class SchemasTest {
  private static final Field ID = Field.notNullable("id", new ArrowType.Int(64, true));
  private static final Field NAME = Field.nullable("name", ArrowType.Utf8.INSTANCE);

  @Test
  void firstDifference_sameFields_isEmpty() {
    assertThat(Schemas.firstDifference(List.of(ID, NAME), List.of(ID, NAME))).isEmpty();
  }

  @Test
  void firstDifference_missingField_isNamed() {
    assertThat(Schemas.firstDifference(List.of(ID, NAME), List.of(ID)))
        .contains("field name is missing");
    assertThat(Schemas.firstDifference(List.of(ID), List.of(ID, NAME)))
        .contains("field name is not in the table");
  }

  @Test
  void firstDifference_nullabilityAndOrder_areNamed() {
    Field nullableId = Field.nullable("id", new ArrowType.Int(64, true));

    assertThat(Schemas.firstDifference(List.of(ID), List.of(nullableId)))
        .contains("field id is nullable, expected not null");
    assertThat(Schemas.firstDifference(List.of(ID, NAME), List.of(NAME, ID)))
        .contains("field 1 is name, expected id");
  }

  @Test
  void firstDifference_nestedChild_isNamedWithItsPath() {
    Field want = new Field("address", FieldType.nullable(ArrowType.Struct.INSTANCE),
        List.of(Field.nullable("zip", ArrowType.Utf8.INSTANCE)));
    Field got = new Field("address", FieldType.nullable(ArrowType.Struct.INSTANCE),
        List.of(Field.nullable("zip", new ArrowType.Int(32, true))));

    assertThat(Schemas.firstDifference(List.of(want), List.of(got)))
        .contains("field address.zip is Int(32, true), expected Utf8");
  }
}
