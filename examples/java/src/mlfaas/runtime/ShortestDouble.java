package mlfaas.runtime;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * A double as C++'s std::to_chars(first, last, value) writes it, which is how the built-in
 * runtime renders probabilities: the shortest digits that parse back to the same double (the
 * nearest such digits when several have that length), laid out as %f or %e, whichever is
 * shorter (%f on a tie): 0.5, 1, 1e-04, 0.0012, 1.5e-07, 1e+16.
 *
 * <p>Java 17's Double.toString is not a substitute: it sometimes writes a digit too many and
 * uses another layout ("1.0E-5"). Here the digits come from the exact decimal value of the
 * double (BigDecimal), rounded to n significant digits for decreasing n while the result still
 * parses back to the same double (Double.parseDouble rounds correctly). The doubles that parse
 * to `value` form an interval around its exact value, so if any n-digit decimal lies in it, the
 * nearest one or the next one on the other side of the exact value does: only those two are
 * tried. The lengths that work are all lengths from the shortest up, so the search stops at the
 * first one that fails.
 */
final class ShortestDouble {
  private ShortestDouble() {}

  static String toChars(double value) {
    if (Double.isNaN(value)) return "nan";
    StringBuilder out = new StringBuilder(24);
    if (Double.doubleToRawLongBits(value) < 0) {
      out.append('-');
      value = -value;
    }
    if (Double.isInfinite(value)) return out.append("inf").toString();
    if (value == 0) return out.append('0').toString();

    final BigDecimal exact = new BigDecimal(value);
    // Grisu2's digits round-trip, so their count bounds the shortest length from above.
    BigDecimal best = null;
    for (int len = Grisu2.digitCount(value); len >= 1; --len) {
      BigDecimal candidate = roundTrip(exact, len, value);
      if (candidate == null) break;
      best = candidate;
    }
    if (best == null) best = exact; // unreachable: Grisu2's length always works

    // best = unscaled * 10^-scale with no trailing zeros: digits and scientific exponent.
    best = best.stripTrailingZeros();
    final String digits = best.unscaledValue().toString();
    final int exp10 = digits.length() - 1 - best.scale();

    StringBuilder sci = new StringBuilder(digits.length() + 6);
    sci.append(digits.charAt(0));
    if (digits.length() > 1) sci.append('.').append(digits, 1, digits.length());
    sci.append('e');
    Grisu2.appendExponent(sci, exp10);

    StringBuilder fixed = new StringBuilder();
    if (exp10 >= digits.length() - 1) {
      // An integer: printf's %f writes the double's exact value.
      fixed.append(exact.toBigInteger().toString());
    } else if (exp10 >= 0) {
      fixed.append(digits, 0, exp10 + 1).append('.').append(digits, exp10 + 1, digits.length());
    } else {
      fixed.append("0.");
      for (int i = -1; i > exp10; --i) fixed.append('0');
      fixed.append(digits);
    }
    return out.append(fixed.length() <= sci.length() ? fixed : sci).toString();
  }

  /**
   * The nearest len-digit decimal if it parses back to `value`; else the len-digit decimal on
   * the other side of the exact value (nearest + or - one unit in its last place) if that does;
   * else null.
   */
  private static BigDecimal roundTrip(BigDecimal exact, int len, double value) {
    BigDecimal nearest = exact.round(new MathContext(len, RoundingMode.HALF_EVEN));
    double parsed = Double.parseDouble(nearest.toString());
    if (parsed == value) return nearest;
    BigDecimal unit = BigDecimal.valueOf(1, nearest.scale());
    BigDecimal other = parsed < value ? nearest.add(unit) : nearest.subtract(unit);
    return parses(other, value) ? other : null;
  }

  private static boolean parses(BigDecimal candidate, double value) {
    return Double.parseDouble(candidate.toString()) == value;
  }
}
