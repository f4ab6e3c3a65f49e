package io.crest.iceberg.schema;

import io.crest.SchemaChange;
import io.crest.SchemaEvolutionPolicy;
import io.crest.errors.ValidationException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.UpdateSchema;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.TypeUtil;
import org.apache.iceberg.types.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares a batch's Arrow schema with a table's Iceberg schema, asks a {@link
 * SchemaEvolutionPolicy} about each difference, and applies the allowed ones with one {@link
 * UpdateSchema} commit. Columns are matched by name at every level. Stateless.
 */
public final class SchemaReconciler {
  private static final Logger LOG = LoggerFactory.getLogger(SchemaReconciler.class);
  private static final int UPDATE_ATTEMPTS = 10;

  private SchemaReconciler() {}

  /** A difference, with what is needed to apply it. */
  static final class Change {
    final SchemaChange change;
    final String parent; // for ADD_COLUMN: the parent struct's path, null at top level
    final String name; // for ADD_COLUMN: the new field's name
    final Type type; // for ADD_COLUMN and WIDEN_TYPE: the Iceberg type to add or widen to
    final boolean required; // for MISSING_COLUMN: whether the table column is required

    Change(SchemaChange change, String parent, String name, Type type, boolean required) {
      this.change = change;
      this.parent = parent;
      this.name = name;
      this.type = type;
      this.required = required;
    }

    SchemaChange.Kind kind() {
      return change.kind();
    }
  }

  /**
   * The differences between {@code batch} (without the {@code ignored} top-level columns) and
   * {@code table}, in column order. Empty when the batch can be written as it is.
   *
   * @throws ValidationException if a batch field has no Iceberg type
   */
  static List<Change> diff(
      org.apache.arrow.vector.types.pojo.Schema batch,
      Schema table,
      Set<String> ignored,
      String tableName) {
    List<Field> fields =
        batch.getFields().stream().filter(f -> !ignored.contains(f.getName())).toList();
    // Map the whole batch once: fresh ids are irrelevant here, only types are compared.
    Schema mapped =
        ArrowSchemas.toIceberg(new org.apache.arrow.vector.types.pojo.Schema(fields), tableName);
    List<Change> changes = new ArrayList<>();
    struct(null, mapped.asStruct(), table.asStruct(), changes);
    List<String> batchOrder = new ArrayList<>();
    for (Field f : fields) {
      if (table.findField(f.getName()) != null) {
        batchOrder.add(f.getName());
      }
    }
    List<String> tableOrder =
        table.columns().stream().map(Types.NestedField::name).filter(batchOrder::contains).toList();
    if (!batchOrder.equals(tableOrder)) {
      changes.add(new Change(new SchemaChange(SchemaChange.Kind.REORDER,
          String.join(", ", batchOrder), String.join(", ", tableOrder), null), null, null, null,
          false));
    }
    return changes;
  }

  private static void struct(
      String parent, Types.StructType batch, Types.StructType table, List<Change> out) {
    for (Types.NestedField b : batch.fields()) {
      Types.NestedField t = table.field(b.name());
      String path = path(parent, b.name());
      if (t == null) {
        out.add(new Change(new SchemaChange(SchemaChange.Kind.ADD_COLUMN, path, null,
            b.type().toString()), parent, b.name(), b.type(), false));
      } else {
        field(path, b, t, out);
      }
    }
    for (Types.NestedField t : table.fields()) {
      if (batch.field(t.name()) == null) {
        String path = path(parent, t.name());
        out.add(new Change(new SchemaChange(SchemaChange.Kind.MISSING_COLUMN, path,
            t.type().toString(), null), parent, t.name(), null, t.isRequired()));
      }
    }
  }

  private static void field(
      String path, Types.NestedField b, Types.NestedField t, List<Change> out) {
    if (b.isOptional() && t.isRequired()) {
      out.add(new Change(new SchemaChange(SchemaChange.Kind.MAKE_OPTIONAL, path,
          "required " + t.type(), "nullable " + b.type()), null, null, null, true));
    }
    type(path, b.type(), t.type(), out);
  }

  private static void type(String path, Type b, Type t, List<Change> out) {
    if (b.isPrimitiveType() && t.isPrimitiveType()) {
      if (b.equals(t) || TypeUtil.isPromotionAllowed(b, t.asPrimitiveType())
          || b.typeId() == Type.TypeID.FIXED && t.typeId() == Type.TypeID.UUID
              && ((Types.FixedType) b).length() == 16) {
        return; // the converter writes it as it is, or widens it itself
      }
      SchemaChange.Kind kind =
          TypeUtil.isPromotionAllowed(t, b.asPrimitiveType())
              ? SchemaChange.Kind.WIDEN_TYPE
              : SchemaChange.Kind.INCOMPATIBLE_TYPE;
      out.add(new Change(new SchemaChange(kind, path, t.toString(), b.toString()), null, null, b,
          false));
    } else if (b.isStructType() && t.isStructType()) {
      struct(path, b.asStructType(), t.asStructType(), out);
    } else if (b.isListType() && t.isListType()) {
      Types.ListType bl = b.asListType();
      Types.ListType tl = t.asListType();
      String element = path + ".element";
      if (bl.isElementOptional() && tl.isElementRequired()) {
        out.add(new Change(new SchemaChange(SchemaChange.Kind.MAKE_OPTIONAL, element,
            "required " + tl.elementType(), "nullable " + bl.elementType()), null, null, null,
            true));
      }
      type(element, bl.elementType(), tl.elementType(), out);
    } else if (b.isMapType() && t.isMapType()) {
      Types.MapType bm = b.asMapType();
      Types.MapType tm = t.asMapType();
      type(path + ".key", bm.keyType(), tm.keyType(), out);
      String value = path + ".value";
      if (bm.isValueOptional() && tm.isValueRequired()) {
        out.add(new Change(new SchemaChange(SchemaChange.Kind.MAKE_OPTIONAL, value,
            "required " + tm.valueType(), "nullable " + bm.valueType()), null, null, null, true));
      }
      type(value, bm.valueType(), tm.valueType(), out);
    } else {
      out.add(new Change(new SchemaChange(SchemaChange.Kind.INCOMPATIBLE_TYPE, path,
          t.toString(), b.toString()), null, null, null, false));
    }
  }

  /**
   * Checks the differences between {@code batch} and the table against {@code policy}, and
   * applies the allowed ones to the table (retrying when another writer changed the table
   * meanwhile, whose changes are kept). Afterwards the table is refreshed.
   *
   * <p>A {@link SchemaChange.Kind#MAKE_OPTIONAL} the policy refuses is not an error: the column
   * stays required and a null in it rejects its batch row by row.
   *
   * @return whether the table's schema was changed
   * @throws ValidationException if the policy refuses a difference or a type is incompatible;
   *     nothing was changed then
   */
  public static boolean reconcile(
      Table table,
      org.apache.arrow.vector.types.pojo.Schema batch,
      Set<String> ignored,
      SchemaEvolutionPolicy policy,
      String tableName) {
    for (int attempt = 1; ; attempt++) {
      List<Change> changes = diff(batch, table.schema(), ignored, tableName);
      List<Change> toApply = check(changes, policy, tableName);
      if (toApply.isEmpty()) {
        return false;
      }
      UpdateSchema update = table.updateSchema();
      for (Change c : toApply) {
        apply(update, c);
      }
      try {
        update.commit();
        table.refresh();
        LOG.info("Evolved the schema of {} under policy {}: {}", tableName, policy.name(),
            toApply.stream().map(c -> c.change.toString()).collect(Collectors.joining("; ")));
        return true;
      } catch (CommitFailedException e) {
        if (attempt >= UPDATE_ATTEMPTS) {
          throw new io.crest.errors.CommitFailedException(
              "Cannot evolve the schema of table " + tableName + ": " + attempt
                  + " attempts conflicted with other writers (" + e.getMessage() + ")", e);
        }
        table.refresh(); // someone else changed the table: look again at the new schema
      }
    }
  }

  /**
   * Checks {@code batch} against {@code table} under {@code policy} without changing anything.
   *
   * @throws ValidationException if the policy refuses a difference or a type is incompatible
   */
  public static void check(
      org.apache.arrow.vector.types.pojo.Schema batch,
      Schema table,
      Set<String> ignored,
      SchemaEvolutionPolicy policy,
      String tableName) {
    check(diff(batch, table, ignored, tableName), policy, tableName);
  }

  /** The changes to apply; throws if any is refused. */
  private static List<Change> check(
      List<Change> changes, SchemaEvolutionPolicy policy, String tableName) {
    List<SchemaChange> refused = new ArrayList<>();
    List<Change> toApply = new ArrayList<>();
    for (Change c : changes) {
      boolean allowed;
      try {
        allowed = c.kind() != SchemaChange.Kind.INCOMPATIBLE_TYPE && policy.allows(c.change);
      } catch (RuntimeException e) {
        throw new ValidationException(
            "Cannot write batch to table " + tableName + ": schema evolution policy "
                + policy.name() + " failed on " + c.change + ": " + e.getMessage(), e);
      }
      if (c.kind() == SchemaChange.Kind.MAKE_OPTIONAL) {
        if (allowed) {
          toApply.add(c);
        }
      } else if (!allowed) {
        refused.add(c.change);
      } else if (c.kind() != SchemaChange.Kind.REORDER
          && !(c.kind() == SchemaChange.Kind.MISSING_COLUMN && !c.required)) {
        toApply.add(c);
      }
    }
    if (!refused.isEmpty()) {
      throw new ValidationException(
          "Cannot write batch to table " + tableName + " under schema evolution policy "
              + policy.name() + ": " + refused.stream().map(Objects::toString)
                  .collect(Collectors.joining("; "))
              + " (choose a policy that allows these changes, or change the batch)");
    }
    return toApply;
  }

  private static void apply(UpdateSchema update, Change c) {
    switch (c.kind()) {
      case ADD_COLUMN:
        if (c.parent == null) {
          update.addColumn(c.name, c.type);
        } else {
          update.addColumn(c.parent, c.name, c.type);
        }
        break;
      case WIDEN_TYPE:
        update.updateColumn(c.change.column(), c.type.asPrimitiveType());
        break;
      case MAKE_OPTIONAL:
      case MISSING_COLUMN:
        update.makeColumnOptional(c.change.column());
        break;
      default:
        throw new IllegalStateException("Cannot apply " + c.change);
    }
  }

  private static String path(String parent, String name) {
    return parent == null ? name : parent + "." + name;
  }

  /** For tests: the public view of the differences. */
  public static List<SchemaChange> changes(
      org.apache.arrow.vector.types.pojo.Schema batch, Schema table, String tableName) {
    List<SchemaChange> out = new ArrayList<>();
    for (Change c : diff(batch, table, Set.of(), tableName)) {
      out.add(c.change);
    }
    return out;
  }

}
