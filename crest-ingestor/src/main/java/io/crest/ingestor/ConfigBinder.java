package io.crest.ingestor;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.deser.ValueInstantiator;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.crest.DataSize;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Binds an ingestor's YAML file to {@link ConfigFile.Root} with Jackson, collecting every unknown
 * key and wrongly typed value as a {@link ConfigProblem} (YAML path, line, column) instead of
 * stopping at the first, and substituting environment variables in every string value.
 *
 * <p>In every string value, {@code ${VAR}} is replaced by the environment variable {@code VAR},
 * {@code ${VAR:-text}} by {@code text} when {@code VAR} is not set, and {@code $${} by a literal
 * {@code ${}. Problems quote the file's own text, never a variable's value. Not thread-safe: one
 * binder per file.
 */
final class ConfigBinder {
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\$\\{|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");
  private static final Pattern DURATION =
      Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)", Pattern.CASE_INSENSITIVE);
  static final String DURATION_HINT = "a duration such as 500ms, 5s, 2m, 1h or PT5S";
  static final String SIZE_HINT = "a size such as 64MiB, 512KiB or 1GiB";
  /** A value that is one environment variable reference, without a default. */
  private static final Pattern ONLY_VARIABLE = Pattern.compile("\\$\\{[A-Za-z_][A-Za-z0-9_]*}");

  private static final YAMLMapper YAML = YAMLMapper.builder()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .addModule(new SimpleModule("crest-ingestor")
          .addDeserializer(Duration.class, new DurationDeserializer())
          .addDeserializer(DataSize.class, new DataSizeDeserializer()))
      .build();

  private final Map<String, String> env;
  private final List<ConfigProblem> problems = new ArrayList<>();
  private final Set<String> problemPaths = new HashSet<>();
  /** The paths whose value is written as exactly one {@code ${VAR}}. */
  private final Set<String> variableOnly = new HashSet<>();
  /** Where each path first appears: its key, or its list item. */
  private final Map<String, JsonLocation> locations = new HashMap<>();

  ConfigBinder(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  /**
   * Reads {@code in}: the bound file, or null if it is empty. Type problems are collected (see
   * {@link #problems}); the value in question is null.
   *
   * @throws IOException if the file cannot be read or is not valid YAML (Jackson's {@code
   *     StreamReadException} has the location)
   */
  ConfigFile.Root bind(InputStream in) throws IOException {
    try (SubstitutingParser p = new SubstitutingParser(YAML.createParser(in))) {
      if (p.nextToken() == null) {
        return null;
      }
      return YAML.reader()
          .withHandler(new Handler())
          .forType(ConfigFile.Root.class)
          .readValue(p);
    }
  }

  /** Every problem so far, in the order of the file. */
  List<ConfigProblem> problems() {
    List<ConfigProblem> sorted = new ArrayList<>(problems);
    sorted.sort(Comparator.comparingInt(ConfigProblem::line)
        .thenComparingInt(ConfigProblem::column));
    return sorted;
  }

  /** Whether {@code path} is in the file (possibly with a null value). */
  boolean present(String path) {
    return locations.containsKey(path);
  }

  /**
   * Whether the value at {@code path} is written in the file as exactly one environment variable
   * reference without a default, such as {@code ${INGEST_TOKEN}}: a secret kept out of the file.
   */
  boolean fromVariable(String path) {
    return variableOnly.contains(path);
  }

  /**
   * Adds a problem at {@code path}, located at the path or its nearest ancestor in the file. A
   * second problem at the same path is dropped: the first is the cause.
   */
  void problem(String path, String message) {
    if (!problemPaths.add(path)) {
      return;
    }
    JsonLocation at = null;
    for (String p = path; at == null && p != null; p = parent(p)) {
      at = locations.get(p);
    }
    problems.add(new ConfigProblem(path, at == null ? 0 : at.getLineNr(),
        at == null ? 0 : at.getColumnNr(), message));
  }

  /** Adds a problem at the parser's current value. */
  private void problem(JsonParser p, String message) {
    String path = path(p.getParsingContext());
    path = path.isEmpty() ? "(top level)" : path;
    if (p instanceof SubstitutingParser) {
      locations.putIfAbsent(path, p.currentTokenLocation());
    } else {
      // Jackson replays a record's unknown keys from a TokenBuffer once the record is made;
      // when the value is a mapping or list, the buffer's context repeats the key's name.
      path = path.replaceAll("(^|\\.)([^.\\[]+)\\.\\2$", "$1$2");
    }
    problem(path, message);
  }

  private static String parent(String path) {
    int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    return cut <= 0 ? null : path.substring(0, cut);
  }

  /** The YAML path of the parser's current token, such as {@code pipelines[0].batch.rows}. */
  static String path(JsonStreamContext context) {
    Deque<JsonStreamContext> chain = new ArrayDeque<>();
    for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
      chain.push(c);
    }
    StringBuilder path = new StringBuilder();
    for (JsonStreamContext c : chain) {
      if (c.inArray() && c.getEntryCount() > 0) {
        path.append('[').append(c.getCurrentIndex()).append(']');
      } else if (c.inObject() && c.getCurrentName() != null) {
        path.append(path.length() == 0 ? "" : ".").append(c.getCurrentName());
      }
    }
    return path.toString();
  }

  /** Replaces {@code ${VAR}}s; a problem naming the variable (not its value) if one is unset. */
  private String substitute(String text, JsonParser p) {
    if (text.indexOf('$') < 0) {
      return text;
    }
    Matcher m = VARIABLE.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String value;
      if (m.group().equals("$${")) {
        value = "${";
      } else {
        value = env.get(m.group(1));
        if (value == null && m.group(2) != null) {
          value = m.group(2);
        }
        if (value == null) {
          problem(p, "environment variable " + m.group(1) + " is not set (set it, or give a"
              + " default as ${" + m.group(1) + ":-value})");
          return text; // the file's own text: later checks of it are dropped as duplicates
        }
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** The current value's kind, and its text as written in the file for a scalar. */
  private static String describe(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    if (t == null) {
      return "nothing";
    }
    switch (t) {
      case START_OBJECT:
        return "a mapping";
      case START_ARRAY:
        return "a list";
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "boolean " + p.getText();
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return "number " + p.getText();
      case VALUE_NULL:
        return "null";
      default:
        String raw = p instanceof SubstitutingParser s ? s.rawText() : p.getText();
        return "\"" + raw + "\"";
    }
  }

  /** What a value of {@code type} looks like, for "expected ..." messages. */
  private static String expected(JavaType type) {
    Class<?> c = type.getRawClass();
    if (c == Long.class || c == Integer.class || c == long.class || c == int.class) {
      return "a whole number";
    } else if (c == Duration.class) {
      return DURATION_HINT;
    } else if (c == DataSize.class) {
      return SIZE_HINT;
    } else if (c == String.class) {
      return "text";
    } else if (c == Boolean.class || c == boolean.class) {
      return "true or false";
    } else if (type.isCollectionLikeType()) {
      return type.getContentType().getRawClass() == String.class ? "a list of text" : "a list";
    } else if (type.isMapLikeType()) {
      return "a mapping of names to values";
    }
    JsonClassDescription d = c.getAnnotation(JsonClassDescription.class);
    return d != null ? d.value() : "a mapping";
  }

  /** Turns Jackson's first-error-fails into a problem each, and goes on. */
  private final class Handler extends DeserializationProblemHandler {
    @Override
    public boolean handleUnknownProperty(DeserializationContext ctxt, JsonParser p,
        JsonDeserializer<?> deserializer, Object beanOrClass, String propertyName)
        throws IOException {
      Class<?> type = beanOrClass instanceof Class<?> c ? c : beanOrClass.getClass();
      String allowed = type.isRecord()
          ? Arrays.stream(type.getRecordComponents()).map(RecordComponent::getName)
              .collect(Collectors.joining(", "))
          : deserializer.getKnownPropertyNames().stream().map(String::valueOf)
              .collect(Collectors.joining(", "));
      problem(p, "unknown key (allowed: " + allowed + ")");
      p.skipChildren();
      return true;
    }

    @Override
    public Object handleWeirdStringValue(DeserializationContext ctxt, Class<?> targetType,
        String valueToConvert, String failureMsg) throws IOException {
      JsonParser p = ctxt.getParser();
      if (targetType.isEnum()) {
        String allowed = Arrays.stream(targetType.getEnumConstants()).map(String::valueOf)
            .collect(Collectors.joining(", "));
        problem(p, "unknown value " + describe(p) + " (allowed: " + allowed + ")");
      } else {
        problem(p, "expected " + expected(ctxt.constructType(targetType)) + ", got "
            + describe(p));
      }
      return null;
    }

    @Override
    public Object handleWeirdNumberValue(DeserializationContext ctxt, Class<?> targetType,
        Number valueToConvert, String failureMsg) throws IOException {
      JsonParser p = ctxt.getParser();
      problem(p, "expected " + expected(ctxt.constructType(targetType)) + ", got "
          + describe(p));
      return null;
    }

    @Override
    public Object handleUnexpectedToken(DeserializationContext ctxt, JavaType targetType,
        JsonToken t, JsonParser p, String failureMsg) throws IOException {
      problem(p, "expected " + expected(targetType) + ", got " + describe(p));
      p.skipChildren();
      return null;
    }

    @Override
    public Object handleMissingInstantiator(DeserializationContext ctxt, Class<?> instClass,
        ValueInstantiator valueInsts, JsonParser p, String msg) throws IOException {
      problem(p, "expected " + expected(ctxt.constructType(instClass)) + ", got "
          + describe(p));
      p.skipChildren();
      return null;
    }
  }

  /**
   * Substitutes environment variables in string values, and records where every path is. All
   * the {@code next...} methods go through {@link #nextToken}.
   */
  private final class SubstitutingParser extends JsonParserDelegate {
    SubstitutingParser(JsonParser delegate) {
      super(delegate);
    }

    /** The current string as written in the file. */
    String rawText() throws IOException {
      return delegate.getText();
    }

    @Override
    public JsonToken nextToken() throws IOException {
      JsonToken t = delegate.nextToken();
      if (t != null && !t.isStructEnd()) {
        locations.putIfAbsent(path(delegate.getParsingContext()),
            delegate.currentTokenLocation());
      }
      return t;
    }

    @Override
    public JsonToken nextValue() throws IOException {
      JsonToken t = nextToken();
      return t == JsonToken.FIELD_NAME ? nextToken() : t;
    }

    @Override
    public String nextFieldName() throws IOException {
      return nextToken() == JsonToken.FIELD_NAME ? currentName() : null;
    }

    @Override
    public boolean nextFieldName(SerializableString name) throws IOException {
      return nextToken() == JsonToken.FIELD_NAME && name.getValue().equals(currentName());
    }

    @Override
    public String nextTextValue() throws IOException {
      return nextToken() == JsonToken.VALUE_STRING ? getText() : null;
    }

    @Override
    public int nextIntValue(int defaultValue) throws IOException {
      return nextToken() == JsonToken.VALUE_NUMBER_INT ? getIntValue() : defaultValue;
    }

    @Override
    public long nextLongValue(long defaultValue) throws IOException {
      return nextToken() == JsonToken.VALUE_NUMBER_INT ? getLongValue() : defaultValue;
    }

    @Override
    public Boolean nextBooleanValue() throws IOException {
      JsonToken t = nextToken();
      return t == JsonToken.VALUE_TRUE ? Boolean.TRUE
          : t == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
    }

    @Override
    public String getText() throws IOException {
      String text = delegate.getText();
      if (!hasToken(JsonToken.VALUE_STRING) || text == null) {
        return text;
      }
      if (ONLY_VARIABLE.matcher(text).matches()) {
        variableOnly.add(path(delegate.getParsingContext()));
      }
      return substitute(text, this);
    }

    @Override
    public String getValueAsString() throws IOException {
      return hasToken(JsonToken.VALUE_STRING) ? getText() : delegate.getValueAsString();
    }

    @Override
    public String getValueAsString(String defaultValue) throws IOException {
      return hasToken(JsonToken.VALUE_STRING) ? getText()
          : delegate.getValueAsString(defaultValue);
    }

    @Override
    public char[] getTextCharacters() throws IOException {
      String text = getText();
      return text == null ? null : text.toCharArray();
    }

    @Override
    public int getTextLength() throws IOException {
      String text = getText();
      return text == null ? 0 : text.length();
    }

    @Override
    public int getTextOffset() {
      return 0;
    }

    @Override
    public boolean hasTextCharacters() {
      return false;
    }
  }

  /** A duration: {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h}, {@code 1d} or ISO-8601. */
  static Duration parseDuration(String s) {
    Matcher m = DURATION.matcher(s);
    if (m.matches()) {
      long n;
      try {
        n = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        return null;
      }
      switch (m.group(2).toLowerCase(Locale.ROOT)) {
        case "ms":
          return Duration.ofMillis(n);
        case "s":
          return Duration.ofSeconds(n);
        case "m":
          return Duration.ofMinutes(n);
        case "h":
          return Duration.ofHours(n);
        default:
          return Duration.ofDays(n);
      }
    }
    try {
      return Duration.parse(s);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static final class DurationDeserializer extends StdScalarDeserializer<Duration> {
    private static final long serialVersionUID = 1L;

    DurationDeserializer() {
      super(Duration.class);
    }

    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (!p.hasToken(JsonToken.VALUE_STRING)) {
        return (Duration) ctxt.handleUnexpectedToken(Duration.class, p);
      }
      String text = p.getText().trim();
      Duration d = parseDuration(text);
      return d != null ? d
          : (Duration) ctxt.handleWeirdStringValue(Duration.class, text, "not a duration");
    }
  }

  private static final class DataSizeDeserializer extends StdScalarDeserializer<DataSize> {
    private static final long serialVersionUID = 1L;

    DataSizeDeserializer() {
      super(DataSize.class);
    }

    @Override
    public DataSize deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.hasToken(JsonToken.VALUE_NUMBER_INT) && p.getLongValue() >= 0) {
        return DataSize.bytes(p.getLongValue());
      }
      if (!p.hasToken(JsonToken.VALUE_STRING)) {
        return (DataSize) ctxt.handleUnexpectedToken(DataSize.class, p);
      }
      String text = p.getText().trim();
      try {
        return DataSize.parse(text);
      } catch (IllegalArgumentException e) {
        return (DataSize) ctxt.handleWeirdStringValue(DataSize.class, text, "not a size");
      }
    }
  }
}
