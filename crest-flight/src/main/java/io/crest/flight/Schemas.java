package io.crest.flight;

import java.util.List;
import java.util.Optional;
import org.apache.arrow.vector.types.pojo.Field;

/** Compares Arrow fields by what matters for a table: names, types, nullability, children. */
final class Schemas {
  private Schemas() {}

  /** The first difference between {@code expected} and {@code actual}, worded, or empty. */
  static Optional<String> firstDifference(List<Field> expected, List<Field> actual) {
    return difference("", expected, actual);
  }

  private static Optional<String> difference(String parent, List<Field> expected,
      List<Field> actual) {
    for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
      if (i >= actual.size()) {
        return Optional.of("field " + parent + expected.get(i).getName() + " is missing");
      }
      Field got = actual.get(i);
      if (i >= expected.size()) {
        return Optional.of("field " + parent + got.getName() + " is not in the table");
      }
      Field want = expected.get(i);
      String path = parent + want.getName();
      if (!want.getName().equals(got.getName())) {
        return Optional.of("field " + (i + 1) + (parent.isEmpty() ? "" : " of " + parent)
            + " is " + got.getName() + ", expected " + want.getName());
      }
      if (!want.getType().equals(got.getType())) {
        return Optional.of("field " + path + " is " + got.getType() + ", expected "
            + want.getType());
      }
      if (want.isNullable() != got.isNullable()) {
        return Optional.of("field " + path + " is " + (got.isNullable() ? "nullable" : "not null")
            + ", expected " + (want.isNullable() ? "nullable" : "not null"));
      }
      Optional<String> child = difference(path + ".", want.getChildren(), got.getChildren());
      if (child.isPresent()) {
        return child;
      }
    }
    return Optional.empty();
  }
}
