package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static io.crest.iceberg.testing.ArrowTestData.struct;
import static io.crest.iceberg.testing.ArrowTestData.structOf;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.SchemaChange;
import io.crest.SchemaEvolutionPolicy;
import io.crest.errors.ValidationException;
import io.crest.iceberg.schema.SchemaReconciler;
import io.crest.testing.SchemaEvolutionPolicyContract;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Schema evolution policies against a real table, read back through Iceberg. */
class SchemaEvolutionTest extends SinkTestBase {
  private static final ArrowType INT = new ArrowType.Int(32, true);
  private static final ArrowType LONG = new ArrowType.Int(64, true);
  private static final ArrowType STRING = ArrowType.Utf8.INSTANCE;

  private VectorSchemaRoot v1(long id, String name) {
    return batch(allocator,
        new Schema(List.of(field("id", false, LONG), field("name", true, STRING))),
        columns(new Object[] {id, name}));
  }

  private Throwable rejected(SchemaEvolutionPolicy policy, VectorSchemaRoot root) throws Exception {
    long snapshots = table().currentSnapshot().snapshotId();
    Throwable cause = failure(sink().schemaEvolution(policy).build(), root);
    assertThat(cause).isInstanceOf(ValidationException.class);
    assertThat(table().currentSnapshot().snapshotId()).as("nothing committed").isEqualTo(snapshots);
    return cause;
  }

  @Test
  void strict_rejectsANewColumn_namingTableColumnAndPolicy_andChangesNothing() throws Exception {
    write(sink().build(), v1(1, "a"));
    int schemaId = table().schema().schemaId();
    VectorSchemaRoot extra = batch(allocator, new Schema(List.of(
            field("id", false, LONG), field("name", true, STRING), field("tier", true, INT))),
        columns(new Object[] {2L, "b", 3}));
    assertThat(rejected(SchemaEvolutionPolicy.strict(), extra))
        .hasMessageContaining("Cannot write batch to table db.t under schema evolution policy strict")
        .hasMessageContaining("ADD_COLUMN 'tier' (batch: int)");
    assertThat(table().schema().schemaId()).isEqualTo(schemaId);
  }

  @Test
  void addColumns_addsTopLevelAndNestedFieldsAsOptional_olderRowsReadNull() throws Exception {
    Schema withStruct = new Schema(List.of(field("id", false, LONG),
        structOf("info", true, field("city", true, STRING))));
    write(sink().build(), batch(allocator, withStruct, columns(new Object[] {1L, struct("city", "Oslo")})));
    Schema grown = new Schema(List.of(field("id", false, LONG),
        structOf("info", true, field("city", true, STRING), field("zip", true, STRING)),
        field("score", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    write(sink().schemaEvolution(SchemaEvolutionPolicy.addColumns()).build(),
        batch(allocator, grown, columns(new Object[] {2L, struct("city", "Bergen", "zip", "5003"), 0.5})));

    Types.StructType schema = table().schema().asStruct();
    assertThat(schema.field("score").isOptional()).isTrue();
    assertThat(schema.field("info").type().asStructType().field("zip").isOptional()).isTrue();
    Map<Long, Record> byId = byId(rows());
    assertThat(byId.get(1L).getField("score")).isNull();
    assertThat(((Record) byId.get(1L).getField("info")).getField("zip")).isNull();
    assertThat(byId.get(2L).getField("score")).isEqualTo(0.5);
    assertThat(((Record) byId.get(2L).getField("info")).getField("zip")).isEqualTo("5003");
  }

  @Test
  void widen_promotesIntFloatAndDecimal_andMakesColumnsOptional() throws Exception {
    Schema narrow = new Schema(List.of(field("id", false, LONG), field("n", false, INT),
        field("f", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
        field("d", true, new ArrowType.Decimal(9, 2, 128))));
    write(sink().build(), batch(allocator, narrow,
        columns(new Object[] {1L, 7, 1.5f, new BigDecimal("1234567.89")})));
    assertThat(rejected(SchemaEvolutionPolicy.addColumns(), batch(allocator, new Schema(List.of(
            field("id", false, LONG), field("n", false, LONG),
            field("f", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
            field("d", true, new ArrowType.Decimal(9, 2, 128)))),
        columns(new Object[] {9L, 9L, 9f, BigDecimal.ONE.setScale(2)}))))
        .hasMessageContaining("WIDEN_TYPE 'n' (table: int, batch: long)")
        .hasMessageContaining("policy addColumns");

    Schema wide = new Schema(List.of(field("id", false, LONG), field("n", true, LONG),
        field("f", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
        field("d", true, new ArrowType.Decimal(12, 2, 128))));
    write(sink().schemaEvolution(SchemaEvolutionPolicy.widen()).build(), batch(allocator, wide,
        columns(new Object[] {2L, 5_000_000_000L, 2.25d, new BigDecimal("9876543210.12")},
            new Object[] {3L, null, null, null})));

    Types.StructType schema = table().schema().asStruct();
    assertThat(schema.field("n").type()).isEqualTo(Types.LongType.get());
    assertThat(schema.field("n").isOptional()).isTrue();
    assertThat(schema.field("f").type()).isEqualTo(Types.DoubleType.get());
    assertThat(schema.field("d").type()).isEqualTo(Types.DecimalType.of(12, 2));
    Map<Long, Record> byId = byId(rows());
    assertThat(byId.get(1L).getField("n")).isEqualTo(7L);
    assertThat(byId.get(1L).getField("f")).isEqualTo(1.5d);
    assertThat(byId.get(1L).getField("d")).isEqualTo(new BigDecimal("1234567.89"));
    assertThat(byId.get(2L).getField("n")).isEqualTo(5_000_000_000L);
    assertThat(byId.get(3L).getField("n")).isNull();
  }

  @Test
  void full_writesMissingColumnsAsNull_andAcceptsAnotherOrder() throws Exception {
    write(sink().build(), batch(allocator, new Schema(List.of(field("id", false, LONG),
        field("name", false, STRING), field("tier", true, INT))),
        columns(new Object[] {1L, "a", 1})));
    VectorSchemaRoot reordered = batch(allocator,
        new Schema(List.of(field("tier", true, INT), field("id", false, LONG))),
        columns(new Object[] {2, 2L}));
    assertThat(rejected(SchemaEvolutionPolicy.widen(), reordered))
        .hasMessageContaining("MISSING_COLUMN 'name' (table: string)")
        .hasMessageContaining("REORDER");

    write(sink().schemaEvolution(SchemaEvolutionPolicy.full()).build(), batch(allocator,
        new Schema(List.of(field("tier", true, INT), field("id", false, LONG))),
        columns(new Object[] {2, 2L})));
    assertThat(table().schema().findField("name").isOptional()).isTrue();
    Map<Long, Record> byId = byId(rows());
    assertThat(byId.get(2L).getField("name")).isNull();
    assertThat(byId.get(2L).getField("tier")).isEqualTo(2);
    assertThat(byId.get(1L).getField("name")).isEqualTo("a");
  }

  @Test
  void incompatibleType_failsUnderEveryPolicy_namingTableColumnBothTypesAndPolicy()
      throws Exception {
    write(sink().build(), v1(1, "a"));
    VectorSchemaRoot wrong = batch(allocator,
        new Schema(List.of(field("id", false, STRING), field("name", true, STRING))),
        columns(new Object[] {"x", "b"}));
    assertThat(rejected(SchemaEvolutionPolicy.full(), wrong))
        .hasMessageContaining("table db.t")
        .hasMessageContaining("policy full")
        .hasMessageContaining("INCOMPATIBLE_TYPE 'id' (table: long, batch: string)");
    assertThat(rows()).hasSize(1);
  }

  @Test
  void concurrentSchemaChangeBySomeoneElse_isPickedUp_notOverwritten() throws Exception {
    write(sink().build(), v1(1, "a"));
    table().updateSchema().addColumn("added_by_other", Types.StringType.get()).commit();
    VectorSchemaRoot withMine = batch(allocator, new Schema(List.of(field("id", false, LONG),
        field("name", true, STRING), field("mine", true, INT))), columns(new Object[] {2L, "b", 9}));
    write(sink().schemaEvolution(SchemaEvolutionPolicy.full()).build(), withMine);
    Table t = table();
    assertThat(t.schema().findField("added_by_other")).isNotNull();
    assertThat(t.schema().findField("mine")).isNotNull();
    assertThat(byId(rows()).get(2L).getField("mine")).isEqualTo(9);
  }

  @Test
  void reconciler_reportsEachKindOfDifference() {
    org.apache.iceberg.Schema table = new org.apache.iceberg.Schema(
        Types.NestedField.required(1, "id", Types.IntegerType.get()),
        Types.NestedField.required(2, "name", Types.StringType.get()),
        Types.NestedField.optional(3, "gone", Types.StringType.get()));
    Schema batch = new Schema(List.of(field("name", true, STRING), field("id", false, LONG),
        field("new", true, INT)));
    assertThat(SchemaReconciler.changes(batch, table, "db.t")).extracting(SchemaChange::kind)
        .containsExactlyInAnyOrder(SchemaChange.Kind.MAKE_OPTIONAL, SchemaChange.Kind.WIDEN_TYPE,
            SchemaChange.Kind.ADD_COLUMN, SchemaChange.Kind.MISSING_COLUMN,
            SchemaChange.Kind.REORDER);
  }

  /** A user's policy: new top-level columns only, never nested ones. */
  static final class TopLevelColumnsOnly implements SchemaEvolutionPolicy {
    @Override
    public String name() {
      return "topLevelColumnsOnly";
    }

    @Override
    public boolean allows(SchemaChange change) {
      return change.kind() == SchemaChange.Kind.ADD_COLUMN && !change.column().contains(".");
    }
  }

  @Test
  void customPolicy_decidesChangeByChange() throws Exception {
    Schema s1 = new Schema(List.of(field("id", false, LONG),
        structOf("info", true, field("city", true, STRING))));
    write(sink().build(), batch(allocator, s1, columns(new Object[] {1L, struct("city", "Oslo")})));
    VectorSchemaRoot nested = batch(allocator, new Schema(List.of(field("id", false, LONG),
            structOf("info", true, field("city", true, STRING), field("zip", true, STRING)))),
        columns(new Object[] {2L, struct("city", "Bergen", "zip", "5003")}));
    assertThat(rejected(new TopLevelColumnsOnly(), nested))
        .hasMessageContaining("policy topLevelColumnsOnly")
        .hasMessageContaining("ADD_COLUMN 'info.zip'");
    write(sink().schemaEvolution(new TopLevelColumnsOnly()).build(), batch(allocator,
        new Schema(List.of(field("id", false, LONG),
            structOf("info", true, field("city", true, STRING)), field("tier", true, INT))),
        columns(new Object[] {3L, struct("city", "Tromsø"), 3})));
    assertThat(table().schema().findField("tier")).isNotNull();
  }

  @Nested
  class TopLevelColumnsOnlyContract extends SchemaEvolutionPolicyContract {
    @Override
    protected SchemaEvolutionPolicy policy() {
      return new TopLevelColumnsOnly();
    }
  }

  static Map<Long, Record> byId(List<Record> rows) {
    Map<Long, Record> map = new java.util.HashMap<>();
    rows.forEach(r -> map.put((Long) r.getField("id"), r));
    assertThat(map).as("no duplicate ids").hasSize(rows.size());
    return map;
  }
}
