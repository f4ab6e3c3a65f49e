package io.crest.iceberg.schema;

import io.crest.errors.ValidationException;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.iceberg.NullOrder;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.SortDirection;
import org.apache.iceberg.SortOrder;

/**
 * Parses partition fields and sort fields written as text, in Iceberg's own transform names:
 * {@code region}, {@code identity(region)}, {@code bucket(16, customer)}, {@code truncate(4,
 * name)}, {@code year(ts)}, {@code month(ts)}, {@code day(ts)}, {@code hour(ts)}; sort fields as
 * {@code column [ASC|DESC] [NULLS FIRST|NULLS LAST]}. Syntax is checked when a sink is built;
 * columns when the table is created. Stateless.
 */
public final class TableLayouts {
  private static final Pattern TRANSFORM =
      Pattern.compile("\\s*(\\w+)\\s*\\(\\s*(?:(\\d+)\\s*,\\s*)?([\\w.]+)\\s*\\)\\s*");
  private static final Pattern COLUMN = Pattern.compile("\\s*([\\w.]+)\\s*");
  private static final Pattern SORT = Pattern.compile(
      "\\s*([\\w.]+)(?:\\s+(ASC|DESC))?(?:\\s+NULLS\\s+(FIRST|LAST))?\\s*", Pattern.CASE_INSENSITIVE);

  private TableLayouts() {}

  /**
   * Checks the syntax of a partition field.
   *
   * @throws IllegalArgumentException naming the field and the accepted forms
   */
  public static void checkPartitionField(String field) {
    Matcher m = TRANSFORM.matcher(field);
    if (COLUMN.matcher(field).matches()) {
      return;
    }
    if (m.matches()) {
      String name = m.group(1).toLowerCase(Locale.ROOT);
      boolean takesWidth = name.equals("bucket") || name.equals("truncate");
      boolean known = takesWidth || List.of("identity", "year", "years", "month", "months", "day",
          "days", "hour", "hours").contains(name);
      if (known && takesWidth == (m.group(2) != null)) {
        return;
      }
    }
    throw new IllegalArgumentException(
        "Cannot use partition field '" + field + "' (expected column, identity(column),"
            + " bucket(N, column), truncate(W, column), year|month|day|hour(column))");
  }

  /**
   * The source column of a partition field whose syntax {@link #checkPartitionField} accepted.
   */
  public static String sourceColumn(String field) {
    Matcher c = COLUMN.matcher(field);
    if (c.matches()) {
      return c.group(1);
    }
    Matcher m = TRANSFORM.matcher(field);
    if (!m.matches()) {
      throw new IllegalArgumentException("Cannot use partition field '" + field + "'");
    }
    return m.group(3);
  }

  /**
   * Checks the syntax of a sort field.
   *
   * @throws IllegalArgumentException naming the field and the accepted form
   */
  public static void checkSortField(String field) {
    if (!SORT.matcher(field).matches()) {
      throw new IllegalArgumentException(
          "Cannot use sort field '" + field + "' (expected column [ASC|DESC] [NULLS FIRST|LAST])");
    }
  }

  /**
   * The partition spec for {@code schema}.
   *
   * @throws ValidationException if a field names a column the schema lacks or cannot partition
   */
  public static PartitionSpec partitionSpec(Schema schema, List<String> fields, String table) {
    if (fields.isEmpty()) {
      return PartitionSpec.unpartitioned();
    }
    PartitionSpec.Builder b = PartitionSpec.builderFor(schema);
    for (String field : fields) {
      try {
        Matcher c = COLUMN.matcher(field);
        if (c.matches()) {
          b.identity(c.group(1));
          continue;
        }
        Matcher m = TRANSFORM.matcher(field);
        m.matches();
        String column = m.group(3);
        switch (m.group(1).toLowerCase(Locale.ROOT)) {
          case "identity":
            b.identity(column);
            break;
          case "bucket":
            b.bucket(column, Integer.parseInt(m.group(2)));
            break;
          case "truncate":
            b.truncate(column, Integer.parseInt(m.group(2)));
            break;
          case "year":
          case "years":
            b.year(column);
            break;
          case "month":
          case "months":
            b.month(column);
            break;
          case "day":
          case "days":
            b.day(column);
            break;
          default:
            b.hour(column);
        }
      } catch (IllegalArgumentException | org.apache.iceberg.exceptions.ValidationException e) {
        throw new ValidationException(
            "Cannot partition table " + table + " by '" + field + "': " + e.getMessage(), e);
      }
    }
    return b.build();
  }

  /**
   * The sort order for {@code schema}.
   *
   * @throws ValidationException if a field names a column the schema lacks
   */
  public static SortOrder sortOrder(Schema schema, List<String> fields, String table) {
    if (fields.isEmpty()) {
      return SortOrder.unsorted();
    }
    SortOrder.Builder b = SortOrder.builderFor(schema);
    for (String field : fields) {
      Matcher m = SORT.matcher(field);
      m.matches();
      SortDirection direction = "DESC".equalsIgnoreCase(m.group(2))
          ? SortDirection.DESC : SortDirection.ASC;
      NullOrder nulls = m.group(3) == null
          ? (direction == SortDirection.ASC ? NullOrder.NULLS_FIRST : NullOrder.NULLS_LAST)
          : "FIRST".equalsIgnoreCase(m.group(3)) ? NullOrder.NULLS_FIRST : NullOrder.NULLS_LAST;
      try {
        if (direction == SortDirection.ASC) {
          b.asc(m.group(1), nulls);
        } else {
          b.desc(m.group(1), nulls);
        }
      } catch (IllegalArgumentException | org.apache.iceberg.exceptions.ValidationException e) {
        throw new ValidationException(
            "Cannot sort table " + table + " by '" + field + "': " + e.getMessage(), e);
      }
    }
    return b.build();
  }
}
