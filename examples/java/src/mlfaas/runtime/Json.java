package mlfaas.runtime;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A small JSON reader and writer with the semantics of mlfaas's C++ side (nlohmann::json behind
 * common/json.h's ParseJson), so that the Java runtime accepts, rejects and hashes exactly what
 * the built-in runtime does.
 *
 * <p>Values: {@code TreeMap<String, Object>} (objects; keys in UTF-8 byte order, the order of
 * nlohmann's std::map; a repeated key keeps its last value), {@code ArrayList<Object>} (arrays),
 * {@link String}, {@link Num}, {@link Boolean} and {@link #NULL}.
 *
 * <p>Nothing here recurses along the input's nesting: the parser and the writer keep explicit
 * stacks, and documents nested deeper than {@link #MAX_DEPTH} are refused before parsing (the
 * same bound and message as ParseJson).
 */
final class Json {
  private Json() {}

  /** Deepest nesting accepted ([[1]] is depth 2), common/json.h kMaxJsonDepth. */
  static final int MAX_DEPTH = 128;

  /** JSON null (TreeMap values cannot tell a missing key from a null value). */
  static final Object NULL =
      new Object() {
        @Override
        public String toString() {
          return "null";
        }
      };

  /**
   * Why a text was refused. The message completes "the event is ...": "not valid JSON: detail"
   * or "nested deeper than 128 levels".
   */
  static final class ParseException extends Exception {
    private static final long serialVersionUID = 1L;

    ParseException(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * A JSON number. Integer literals that fit int64 or uint64 stay integers (printed as such by
   * {@link #canonical}), like nlohmann's number_integer / number_unsigned; every other number is
   * a double (number_float). {@link #value} is the double either way.
   */
  static final class Num {
    final double value;
    final boolean integer; // an int64 or uint64 literal
    final boolean unsigned; // integer above Long.MAX_VALUE: bits hold it as a uint64
    final long bits; // the integer (two's complement, or unsigned when `unsigned`)

    private Num(double value, boolean integer, boolean unsigned, long bits) {
      this.value = value;
      this.integer = integer;
      this.unsigned = unsigned;
      this.bits = bits;
    }

    static Num ofDouble(double v) {
      return new Num(v, false, false, 0);
    }

    /** The integer as C++'s get<int64_t>() sees it (a uint64 above INT64_MAX wraps). */
    long asInt64() {
      return bits;
    }

    /** As nlohmann's dump() writes it. */
    String text() {
      if (!integer) return Grisu2.format(value);
      return unsigned ? Long.toUnsignedString(bits) : Long.toString(bits);
    }

    @Override
    public String toString() {
      return text();
    }
  }

  /**
   * UTF-8 byte order (= code point order) on Java strings, whose compareTo orders UTF-16 units:
   * surrogates (U+D800..DFFF, only used for code points above U+FFFF) must sort after U+E000..FFFF.
   */
  static final Comparator<String> KEY_ORDER =
      (a, b) -> {
        final int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; ++i) {
          char x = a.charAt(i), y = b.charAt(i);
          if (x != y) {
            if (x >= 0xD800 && y >= 0xD800) {
              x = fixup(x);
              y = fixup(y);
            }
            return x - y;
          }
        }
        return a.length() - b.length();
      };

  private static char fixup(char c) {
    return (char) (c >= 0xE000 ? c - 0x800 : c + 0x2000);
  }

  static TreeMap<String, Object> newObject() {
    return new TreeMap<>(KEY_ORDER);
  }

  // ---------------------------------------------------------------------------------------
  // Reading

  /** Parses one JSON value from UTF-8 bytes; nothing but whitespace may follow it. */
  static Object parse(byte[] text) throws ParseException {
    precheck(text);
    return new Parser(text).parseDocument();
  }

  /** NUL bytes and the nesting bound, checked before parsing, as ParseJson does. */
  private static void precheck(byte[] text) throws ParseException {
    for (byte c : text) {
      if (c == 0) throw new ParseException("not valid JSON: it contains a NUL byte");
    }
    if (nestingDepth(text, MAX_DEPTH) > MAX_DEPTH) {
      throw new ParseException("nested deeper than " + MAX_DEPTH + " levels");
    }
  }

  /** common/json.cc JsonNestingDepth: brackets outside strings; stops past `limit`. */
  static int nestingDepth(byte[] text, int limit) {
    int depth = 0, deepest = 0;
    boolean inString = false, escaped = false;
    for (byte c : text) {
      if (inString) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          inString = false;
        }
        continue;
      }
      switch (c) {
        case '"':
          inString = true;
          break;
        case '[':
        case '{':
          if (++depth > deepest) {
            deepest = depth;
            if (deepest > limit) return limit + 1;
          }
          break;
        case ']':
        case '}':
          if (depth > 0) --depth;
          break;
        default:
          break;
      }
    }
    return deepest;
  }

  /** RFC 8259 grammar, strict: no comments, NaN, Infinity, trailing commas or leading zeros. */
  private static final class Parser {
    private final byte[] s;
    private int pos;
    // The open containers and, for objects, the key whose value is being parsed.
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<String> keys = new ArrayList<>();

    Parser(byte[] s) {
      this.s = s;
      // A UTF-8 byte order mark is skipped, as nlohmann does.
      if (s.length >= 3 && (s[0] & 0xFF) == 0xEF && (s[1] & 0xFF) == 0xBB && (s[2] & 0xFF) == 0xBF) {
        pos = 3;
      }
    }

    private ParseException error(String what) {
      String near;
      if (pos >= s.length) {
        near = "at the end of the input";
      } else {
        int c = s[pos] & 0xFF;
        near =
            "at byte "
                + (pos + 1)
                + (c >= 0x20 && c < 0x7F ? " ('" + (char) c + "')" : String.format(" (0x%02x)", c));
      }
      return new ParseException("not valid JSON: " + what + " " + near);
    }

    private void skipWhitespace() {
      while (pos < s.length) {
        byte c = s[pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          ++pos;
        } else {
          break;
        }
      }
    }

    private void expect(char c, String what) throws ParseException {
      skipWhitespace();
      if (pos >= s.length || s[pos] != c) throw error("expected " + what);
      ++pos;
    }

    Object parseDocument() throws ParseException {
      Object value;
      for (; ; ) {
        // Parse a value; a container is opened and the loop goes on with its first element.
        skipWhitespace();
        if (pos >= s.length) throw error("expected a value");
        byte c = s[pos];
        if (c == '{' || c == '[') {
          ++pos;
          skipWhitespace();
          boolean isObject = c == '{';
          if (pos < s.length && s[pos] == (isObject ? '}' : ']')) {
            ++pos;
            value = isObject ? newObject() : new ArrayList<Object>();
          } else {
            stack.add(isObject ? newObject() : new ArrayList<Object>());
            if (isObject) {
              keys.add(parseKey());
            }
            continue;
          }
        } else {
          value = parseScalar();
        }
        // Close every container this value completes.
        for (; ; ) {
          if (stack.isEmpty()) {
            skipWhitespace();
            if (pos != s.length) throw error("unexpected content after the value");
            return value;
          }
          Object top = stack.get(stack.size() - 1);
          skipWhitespace();
          if (top instanceof TreeMap) {
            @SuppressWarnings("unchecked")
            TreeMap<String, Object> object = (TreeMap<String, Object>) top;
            object.put(keys.remove(keys.size() - 1), value); // a repeated key: the last one wins
            if (pos < s.length && s[pos] == ',') {
              ++pos;
              keys.add(parseKey());
              break; // parse the next member's value
            }
            if (pos < s.length && s[pos] == '}') {
              ++pos;
              value = stack.remove(stack.size() - 1);
              continue;
            }
            throw error("expected ',' or '}' after an object member");
          } else {
            @SuppressWarnings("unchecked")
            ArrayList<Object> array = (ArrayList<Object>) top;
            array.add(value);
            if (pos < s.length && s[pos] == ',') {
              ++pos;
              break; // parse the next element
            }
            if (pos < s.length && s[pos] == ']') {
              ++pos;
              value = stack.remove(stack.size() - 1);
              continue;
            }
            throw error("expected ',' or ']' after an array element");
          }
        }
      }
    }

    /** `"key" :` */
    private String parseKey() throws ParseException {
      skipWhitespace();
      if (pos >= s.length || s[pos] != '"') throw error("expected a string as object key");
      String key = parseString();
      expect(':', "':' after an object key");
      return key;
    }

    private Object parseScalar() throws ParseException {
      byte c = s[pos];
      switch (c) {
        case '"':
          return parseString();
        case 't':
          literal("true");
          return Boolean.TRUE;
        case 'f':
          literal("false");
          return Boolean.FALSE;
        case 'n':
          literal("null");
          return NULL;
        default:
          if (c == '-' || (c >= '0' && c <= '9')) return parseNumber();
          throw error("unexpected character, expected a value");
      }
    }

    private void literal(String word) throws ParseException {
      for (int i = 0; i < word.length(); ++i) {
        if (pos + i >= s.length || s[pos + i] != word.charAt(i)) {
          pos += i;
          throw error("invalid literal (expected '" + word + "')");
        }
      }
      pos += word.length();
    }

    private boolean digitAt(int i) {
      return i < s.length && s[i] >= '0' && s[i] <= '9';
    }

    private Num parseNumber() throws ParseException {
      final int start = pos;
      if (s[pos] == '-') ++pos;
      if (!digitAt(pos)) throw error("invalid number: expected a digit");
      if (s[pos] == '0') {
        ++pos;
      } else {
        while (digitAt(pos)) ++pos;
      }
      boolean integer = true;
      if (pos < s.length && s[pos] == '.') {
        integer = false;
        ++pos;
        if (!digitAt(pos)) throw error("invalid number: expected a digit after '.'");
        while (digitAt(pos)) ++pos;
      }
      if (pos < s.length && (s[pos] == 'e' || s[pos] == 'E')) {
        integer = false;
        ++pos;
        if (pos < s.length && (s[pos] == '+' || s[pos] == '-')) ++pos;
        if (!digitAt(pos)) throw error("invalid number: expected a digit in the exponent");
        while (digitAt(pos)) ++pos;
      }
      String text = new String(s, start, pos - start, StandardCharsets.ISO_8859_1);
      if (integer) {
        // int64 for negative literals, uint64 otherwise; out of range becomes a double.
        try {
          if (text.charAt(0) == '-') {
            long v = Long.parseLong(text);
            return new Num((double) v, true, false, v);
          }
          long v = Long.parseUnsignedLong(text);
          return new Num(v >= 0 ? (double) v : Double.parseDouble(text), true, v < 0, v);
        } catch (NumberFormatException outOfRange) {
          // falls through
        }
      }
      double v = Double.parseDouble(text); // correctly rounded, like strtod
      if (Double.isInfinite(v)) {
        pos = start;
        throw new ParseException("not valid JSON: number overflow parsing '" + text + "'");
      }
      return Num.ofDouble(v);
    }

    private int hex4() throws ParseException {
      int v = 0;
      for (int i = 0; i < 4; ++i) {
        if (pos >= s.length) throw error("truncated \\u escape");
        int c = s[pos], d;
        if (c >= '0' && c <= '9') {
          d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
          d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
          d = c - 'A' + 10;
        } else {
          throw error("invalid \\u escape: expected 4 hex digits");
        }
        v = v * 16 + d;
        ++pos;
      }
      return v;
    }

    /** A string starting at the opening quote; validates UTF-8 and escapes. */
    private String parseString() throws ParseException {
      ++pos; // opening quote
      // Fast path: printable ASCII without escapes.
      int i = pos;
      while (i < s.length && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20) ++i;
      if (i < s.length && s[i] == '"') {
        String out = new String(s, pos, i - pos, StandardCharsets.ISO_8859_1);
        pos = i + 1;
        return out;
      }
      StringBuilder sb = new StringBuilder();
      for (; ; ) {
        if (pos >= s.length) throw error("unterminated string");
        int c = s[pos] & 0xFF;
        if (c == '"') {
          ++pos;
          return sb.toString();
        }
        if (c == '\\') {
          ++pos;
          if (pos >= s.length) throw error("unterminated string");
          int e = s[pos++];
          switch (e) {
            case '"':
              sb.append('"');
              break;
            case '\\':
              sb.append('\\');
              break;
            case '/':
              sb.append('/');
              break;
            case 'b':
              sb.append('\b');
              break;
            case 'f':
              sb.append('\f');
              break;
            case 'n':
              sb.append('\n');
              break;
            case 'r':
              sb.append('\r');
              break;
            case 't':
              sb.append('\t');
              break;
            case 'u':
              {
                int u = hex4();
                if (u >= 0xD800 && u <= 0xDBFF) {
                  if (pos + 1 >= s.length || s[pos] != '\\' || s[pos + 1] != 'u') {
                    throw error("surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
                  }
                  pos += 2;
                  int low = hex4();
                  if (low < 0xDC00 || low > 0xDFFF) {
                    throw error("surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
                  }
                  sb.append((char) u).append((char) low);
                } else if (u >= 0xDC00 && u <= 0xDFFF) {
                  throw error("surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
                } else {
                  sb.append((char) u);
                }
                break;
              }
            default:
              --pos;
              throw error("invalid escape");
          }
          continue;
        }
        if (c < 0x20) throw error("control character in a string must be escaped");
        if (c < 0x80) {
          sb.append((char) c);
          ++pos;
          continue;
        }
        sb.appendCodePoint(utf8CodePoint());
      }
    }

    /** One UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most U+10FFFF). */
    private int utf8CodePoint() throws ParseException {
      int c = s[pos] & 0xFF;
      int n, cp, min;
      if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
        cp = c & 0x1F;
        min = 0x80;
      } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        cp = c & 0x0F;
        min = 0x800;
      } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        cp = c & 0x07;
        min = 0x10000;
      } else {
        throw error("invalid UTF-8 byte");
      }
      for (int k = 1; k <= n; ++k) {
        if (pos + k >= s.length || (s[pos + k] & 0xC0) != 0x80) {
          throw error("invalid UTF-8 sequence");
        }
        cp = (cp << 6) | (s[pos + k] & 0x3F);
      }
      if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        throw error("invalid UTF-8 sequence");
      }
      pos += n + 1;
      return cp;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Writing

  /** A JSON string literal as nlohmann's dump() writes it (ensure_ascii off). */
  static void appendString(StringBuilder out, String v) {
    out.append('"');
    for (int i = 0; i < v.length(); ++i) {
      char c = v.charAt(i);
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }

  static String quote(String v) {
    StringBuilder sb = new StringBuilder(v.length() + 2);
    appendString(sb, v);
    return sb.toString();
  }

  /**
   * nlohmann's dump() of a parsed value: keys in byte order, no whitespace, integers as integers,
   * doubles as nlohmann's Grisu2 to_chars writes them. Iterative (explicit stack of iterators).
   */
  static String canonical(Object root) {
    StringBuilder out = new StringBuilder();
    ArrayList<Iterator<?>> stack = new ArrayList<>();
    ArrayList<Boolean> isObject = new ArrayList<>();
    ArrayList<Boolean> first = new ArrayList<>();
    Object value = root;
    for (; ; ) {
      // Write `value` (scalars at once; containers are opened and pushed).
      if (value instanceof Map) {
        Map<?, ?> m = (Map<?, ?>) value;
        out.append('{');
        stack.add(m.entrySet().iterator());
        isObject.add(true);
        first.add(true);
      } else if (value instanceof List) {
        out.append('[');
        stack.add(((List<?>) value).iterator());
        isObject.add(false);
        first.add(true);
      } else if (value instanceof String) {
        appendString(out, (String) value);
      } else if (value instanceof Num) {
        out.append(((Num) value).text());
      } else if (value instanceof Boolean) {
        out.append(((Boolean) value) ? "true" : "false");
      } else {
        out.append("null");
      }
      // Find the next value to write, closing finished containers.
      value = null;
      while (!stack.isEmpty()) {
        int top = stack.size() - 1;
        Iterator<?> it = stack.get(top);
        boolean obj = isObject.get(top);
        if (it.hasNext()) {
          if (!first.get(top)) out.append(',');
          first.set(top, false);
          Object next = it.next();
          if (obj) {
            Map.Entry<?, ?> e = (Map.Entry<?, ?>) next;
            appendString(out, (String) e.getKey());
            out.append(':');
            value = e.getValue();
          } else {
            value = next;
          }
          break;
        }
        out.append(obj ? '}' : ']');
        stack.remove(top);
        isObject.remove(top);
        first.remove(top);
      }
      if (value == null) return out.toString();
    }
  }
}
