package mlfaas.runtime;

/**
 * Doubles as nlohmann::json's dump() writes them (nlohmann/detail/conversions/to_chars.hpp,
 * json 3.11): Florian Loitsch's Grisu2, then a %g-like layout ("1.5", "100.0", "0.0001",
 * "1e-05", "1e+16", "-0.0").
 *
 * <p>The manifest digest is the sha256 of that text, so it has to be reproduced exactly. Grisu2
 * is not always shortest: for about 0.1% of doubles it writes 17 digits where 16 would round-trip
 * (-19.544966090680848, not -19.54496609068085), so neither Python's repr nor a shortest
 * formatter can stand in for it. Unsigned 64-bit arithmetic is done on Java longs: additions,
 * multiplications and shifts (>>>) are the same bit patterns; comparisons use
 * Long.compareUnsigned.
 */
final class Grisu2 {
  private Grisu2() {}

  private static final int ALPHA = -60;
  private static final int GAMMA = -32;

  /** f * 2^e, f an unsigned 64-bit significand. */
  private static final class DiyFp {
    final long f;
    final int e;

    DiyFp(long f, int e) {
      this.f = f;
      this.e = e;
    }

    /** x * y, rounded (upper 64 bits of the 128-bit product, ties up). */
    static DiyFp mul(DiyFp x, DiyFp y) {
      final long uLo = x.f & 0xFFFFFFFFL, uHi = x.f >>> 32;
      final long vLo = y.f & 0xFFFFFFFFL, vHi = y.f >>> 32;
      final long p0 = uLo * vLo, p1 = uLo * vHi, p2 = uHi * vLo, p3 = uHi * vHi;
      long q = (p0 >>> 32) + (p1 & 0xFFFFFFFFL) + (p2 & 0xFFFFFFFFL);
      q += 1L << 31; // round, ties up
      final long h = p3 + (p2 >>> 32) + (p1 >>> 32) + (q >>> 32);
      return new DiyFp(h, x.e + y.e + 64);
    }

    static DiyFp normalize(DiyFp x) {
      long f = x.f;
      int e = x.e;
      while ((f >>> 63) == 0) {
        f <<= 1;
        e--;
      }
      return new DiyFp(f, e);
    }

    static DiyFp normalizeTo(DiyFp x, int targetExponent) {
      return new DiyFp(x.f << (x.e - targetExponent), targetExponent);
    }
  }

  // Cached powers of ten: c = f * 2^e ~= 10^k, k from -300 to 324 in steps of 8.
  private static final long[] POW_F = {
    0xAB70FE17C79AC6CAL, 0xFF77B1FCBEBCDC4FL, 0xBE5691EF416BD60CL, 0x8DD01FAD907FFC3CL,
    0xD3515C2831559A83L, 0x9D71AC8FADA6C9B5L, 0xEA9C227723EE8BCBL, 0xAECC49914078536DL,
    0x823C12795DB6CE57L, 0xC21094364DFB5637L, 0x9096EA6F3848984FL, 0xD77485CB25823AC7L,
    0xA086CFCD97BF97F4L, 0xEF340A98172AACE5L, 0xB23867FB2A35B28EL, 0x84C8D4DFD2C63F3BL,
    0xC5DD44271AD3CDBAL, 0x936B9FCEBB25C996L, 0xDBAC6C247D62A584L, 0xA3AB66580D5FDAF6L,
    0xF3E2F893DEC3F126L, 0xB5B5ADA8AAFF80B8L, 0x87625F056C7C4A8BL, 0xC9BCFF6034C13053L,
    0x964E858C91BA2655L, 0xDFF9772470297EBDL, 0xA6DFBD9FB8E5B88FL, 0xF8A95FCF88747D94L,
    0xB94470938FA89BCFL, 0x8A08F0F8BF0F156BL, 0xCDB02555653131B6L, 0x993FE2C6D07B7FACL,
    0xE45C10C42A2B3B06L, 0xAA242499697392D3L, 0xFD87B5F28300CA0EL, 0xBCE5086492111AEBL,
    0x8CBCCC096F5088CCL, 0xD1B71758E219652CL, 0x9C40000000000000L, 0xE8D4A51000000000L,
    0xAD78EBC5AC620000L, 0x813F3978F8940984L, 0xC097CE7BC90715B3L, 0x8F7E32CE7BEA5C70L,
    0xD5D238A4ABE98068L, 0x9F4F2726179A2245L, 0xED63A231D4C4FB27L, 0xB0DE65388CC8ADA8L,
    0x83C7088E1AAB65DBL, 0xC45D1DF942711D9AL, 0x924D692CA61BE758L, 0xDA01EE641A708DEAL,
    0xA26DA3999AEF774AL, 0xF209787BB47D6B85L, 0xB454E4A179DD1877L, 0x865B86925B9BC5C2L,
    0xC83553C5C8965D3DL, 0x952AB45CFA97A0B3L, 0xDE469FBD99A05FE3L, 0xA59BC234DB398C25L,
    0xF6C69A72A3989F5CL, 0xB7DCBF5354E9BECEL, 0x88FCF317F22241E2L, 0xCC20CE9BD35C78A5L,
    0x98165AF37B2153DFL, 0xE2A0B5DC971F303AL, 0xA8D9D1535CE3B396L, 0xFB9B7CD9A4A7443CL,
    0xBB764C4CA7A44410L, 0x8BAB8EEFB6409C1AL, 0xD01FEF10A657842CL, 0x9B10A4E5E9913129L,
    0xE7109BFBA19C0C9DL, 0xAC2820D9623BF429L, 0x80444B5E7AA7CF85L, 0xBF21E44003ACDD2DL,
    0x8E679C2F5E44FF8FL, 0xD433179D9C8CB841L, 0x9E19DB92B4E31BA9L,
  };
  private static final int[] POW_E = {
    -1060, -1034, -1007, -980, -954, -927, -901, -874, -847, -821, -794, -768, -741, -715, -688,
    -661, -635, -608, -582, -555, -529, -502, -475, -449, -422, -396, -369, -343, -316, -289, -263,
    -236, -210, -183, -157, -130, -103, -77, -50, -24, 3, 30, 56, 83, 109, 136, 162, 189, 216, 242,
    269, 295, 322, 348, 375, 402, 428, 455, 481, 508, 534, 561, 588, 614, 641, 667, 694, 720, 747,
    774, 800, 827, 853, 880, 907, 933, 960, 986, 1013,
  };

  private static final int POW_MIN_DEC_EXP = -300;
  private static final int POW_DEC_STEP = 8;

  /** The digits of v (> 0, finite) and their decimal exponent: v ~= digits * 10^exponent. */
  private static final class Digits {
    final char[] buf = new char[32];
    int len;
    int exponent;
  }

  /** The layout nlohmann's dump() uses for a finite double. */
  static String format(double value) {
    StringBuilder out = new StringBuilder(24);
    if (Double.doubleToRawLongBits(value) < 0) { // signbit: -0.0 too
      value = -value;
      out.append('-');
    }
    if (value == 0) return out.append("0.0").toString();
    Digits d = grisu2(value);
    formatBuffer(out, d.buf, d.len, d.exponent, -4, 15);
    return out.toString();
  }

  /** How many digits Grisu2 writes for a finite value > 0 (enough to round-trip). */
  static int digitCount(double value) {
    return grisu2(value).len;
  }

  private static Digits grisu2(double value) {
    // compute_boundaries
    final long bits = Double.doubleToRawLongBits(value);
    final long hiddenBit = 1L << 52;
    final long e = bits >>> 52;
    final long f = bits & (hiddenBit - 1);
    final int bias = 1023 + 52;
    final DiyFp v = e == 0 ? new DiyFp(f, 1 - bias) : new DiyFp(f + hiddenBit, (int) e - bias);
    final boolean lowerBoundaryIsCloser = f == 0 && e > 1;
    final DiyFp mPlus = new DiyFp(2 * v.f + 1, v.e - 1);
    final DiyFp mMinus =
        lowerBoundaryIsCloser ? new DiyFp(4 * v.f - 1, v.e - 2) : new DiyFp(2 * v.f - 1, v.e - 1);
    final DiyFp wPlus = DiyFp.normalize(mPlus);
    final DiyFp wMinus = DiyFp.normalizeTo(mMinus, wPlus.e);
    final DiyFp w = DiyFp.normalize(v);

    // get_cached_power_for_binary_exponent(wPlus.e)
    final int fk = ALPHA - wPlus.e - 1;
    final int k = (fk * 78913) / (1 << 18) + (fk > 0 ? 1 : 0);
    final int index = (-POW_MIN_DEC_EXP + k + (POW_DEC_STEP - 1)) / POW_DEC_STEP;
    final DiyFp cMinusK = new DiyFp(POW_F[index], POW_E[index]);
    final int cachedK = POW_MIN_DEC_EXP + index * POW_DEC_STEP;

    final DiyFp ww = DiyFp.mul(w, cMinusK);
    final DiyFp wm = DiyFp.mul(wMinus, cMinusK);
    final DiyFp wp = DiyFp.mul(wPlus, cMinusK);
    final DiyFp bigMinus = new DiyFp(wm.f + 1, wm.e);
    final DiyFp bigPlus = new DiyFp(wp.f - 1, wp.e);
    Digits d = new Digits();
    d.exponent = -cachedK;
    digitGen(d, bigMinus, ww, bigPlus);
    return d;
  }

  private static boolean lessU(long a, long b) {
    return Long.compareUnsigned(a, b) < 0;
  }

  private static boolean lessEqU(long a, long b) {
    return Long.compareUnsigned(a, b) <= 0;
  }

  private static void round(Digits d, long dist, long delta, long rest, long tenK) {
    while (lessU(rest, dist)
        && !lessU(delta - rest, tenK)
        && (lessU(rest + tenK, dist) || Long.compareUnsigned(dist - rest, rest + tenK - dist) > 0)) {
      d.buf[d.len - 1]--;
      rest += tenK;
    }
  }

  private static void digitGen(Digits d, DiyFp mMinus, DiyFp w, DiyFp mPlus) {
    long delta = mPlus.f - mMinus.f;
    long dist = mPlus.f - w.f;
    final int shift = -mPlus.e; // 32..60
    final long one = 1L << shift;
    long p1 = mPlus.f >>> shift; // fits in 32 bits
    long p2 = mPlus.f & (one - 1);

    // find_largest_pow10
    long pow10 = 1;
    int n = 1;
    while (n < 10 && p1 >= pow10 * 10) {
      pow10 *= 10;
      n++;
    }
    while (n > 0) {
      final long digit = p1 / pow10;
      p1 = p1 % pow10;
      d.buf[d.len++] = (char) ('0' + digit);
      n--;
      final long rest = (p1 << shift) + p2;
      if (lessEqU(rest, delta)) {
        d.exponent += n;
        round(d, dist, delta, rest, pow10 << shift);
        return;
      }
      pow10 /= 10;
    }
    int m = 0;
    for (; ; ) {
      p2 *= 10;
      final long digit = p2 >>> shift;
      p2 &= one - 1;
      d.buf[d.len++] = (char) ('0' + digit);
      m++;
      delta *= 10;
      dist *= 10;
      if (lessEqU(p2, delta)) break;
    }
    d.exponent -= m;
    round(d, dist, delta, p2, one);
  }

  /** format_buffer: fixed notation for 10^minExp <= v < 10^maxExp, else d.ddde+XX. */
  private static void formatBuffer(
      StringBuilder out, char[] buf, int len, int decimalExponent, int minExp, int maxExp) {
    final int k = len;
    final int n = len + decimalExponent;
    if (k <= n && n <= maxExp) {
      out.append(buf, 0, k);
      for (int i = k; i < n; ++i) out.append('0');
      out.append(".0");
      return;
    }
    if (0 < n && n <= maxExp) {
      out.append(buf, 0, n).append('.').append(buf, n, k - n);
      return;
    }
    if (minExp < n && n <= 0) {
      out.append("0.");
      for (int i = 0; i < -n; ++i) out.append('0');
      out.append(buf, 0, k);
      return;
    }
    out.append(buf[0]);
    if (k > 1) out.append('.').append(buf, 1, k - 1);
    out.append('e');
    appendExponent(out, n - 1);
  }

  static void appendExponent(StringBuilder out, int e) {
    if (e < 0) {
      out.append('-');
      e = -e;
    } else {
      out.append('+');
    }
    if (e < 10) out.append('0');
    out.append(e);
  }
}
