using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PetsML.Transforms.Imaging;

namespace PetsML.Transforms.Presizing;

/// <summary>
/// Pillow-compatible <c>Image.resize(size, BILINEAR)</c> of one box of an image, written as planar
/// CHW bytes. This is what fastai's <c>Resize</c> does after its crop/pad, and plain 2×2 bilinear
/// sampling does not reproduce it: Pillow convolves with a triangle kernel whose support is widened
/// by the scale factor when downsampling (antialiasing).
/// </summary>
/// <remarks>
/// Same arithmetic as Pillow's 8-bit resampler: per axis, for output i the kernel centre is
/// <c>(i + 0.5)·scale</c> with <c>scale = in/out</c>; the support is <c>max(scale, 1)</c>; taps run from
/// <c>(int)(centre − support + 0.5)</c> to <c>(int)(centre + support + 0.5)</c> clamped to the box;
/// weights <c>tri((j − centre + 0.5)/max(scale, 1))</c> are normalised to sum 1 in double, then rounded to
/// 22-bit fixed point. The horizontal pass runs first and its result is rounded and clamped to bytes,
/// then the vertical pass; each sum starts at ½ (2^21) and is shifted right by 22 and clamped to
/// 0..255. The kernel never reaches past the box (Pillow resizes the cropped/padded picture).
/// Padding (box beyond the image) is virtual: box pixels outside the image are read from the image
/// per <see cref="PadMode"/>, relative to the part of the image inside the box, as torchvision pads
/// the cropped piece before Pillow resizes it.
/// </remarks>
internal static class AntialiasedResize
{
    private const int PrecisionBits = 22;
    private const int Half = 1 << (PrecisionBits - 1);

    /// <summary>
    /// Resizes <paramref name="box"/> of <paramref name="source"/> to
    /// <paramref name="outputWidth"/>×<paramref name="outputHeight"/> and writes it as planar RGB
    /// (CHW: all R, then all G, then all B) into <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The box does not overlap the image, or the destination is too small.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static void ResizeToChw(RgbImage source, PresizeBox box, PadMode padMode, int outputWidth, int outputHeight,
        Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputHeight);
        if (box.Width <= 0 || box.Height <= 0)
        {
            throw new ArgumentException($"The box {box} must have a positive width and height.", nameof(box));
        }

        long planeLong = (long)outputWidth * outputHeight;
        if (destination.Length < 3 * planeLong)
        {
            throw new ArgumentException(
                $"The destination holds {destination.Length} bytes; 3·{outputWidth}·{outputHeight} = {3 * planeLong} are needed.",
                nameof(destination));
        }

        int[] columnMap = PadMap(box.X, box.Width, source.Width, padMode, "X");
        int[] rowMap = PadMap(box.Y, box.Height, source.Height, padMode, "Y");
        Coefficients horizontal = Coefficients.Compute(box.Width, outputWidth);
        Coefficients vertical = Coefficients.Compute(box.Height, outputHeight);

        // Horizontal taps as byte offsets into an image row; a tap on zero padding gets weight 0.
        int kh = horizontal.KSize;
        var tapOffsets = new int[outputWidth * kh];
        var tapWeights = new int[outputWidth * kh];
        for (int o = 0; o < outputWidth; o++)
        {
            int min = horizontal.Min[o];
            for (int k = 0; k < kh; k++)
            {
                int weight = horizontal.Weights[o * kh + k];
                int imageX = k < horizontal.Count[o] ? columnMap[min + k] : -1;
                tapOffsets[o * kh + k] = imageX < 0 ? 0 : 3 * imageX;
                tapWeights[o * kh + k] = imageX < 0 ? 0 : weight;
            }
        }

        // Only the box rows the vertical pass reads are resampled horizontally.
        int firstRow = vertical.Min[0];
        int lastRow = vertical.Min[outputHeight - 1] + vertical.Count[outputHeight - 1];
        int tempRows = lastRow - firstRow;
        int tempPlane = tempRows * outputWidth;
        byte[] temp = ArrayPool<byte>.Shared.Rent(3 * tempPlane);
        try
        {
            HorizontalPass(source, rowMap, firstRow, tempRows, outputWidth, kh, tapOffsets, tapWeights, temp, tempPlane);
            VerticalPass(temp, tempPlane, firstRow, vertical, outputWidth, outputHeight, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
        }
    }

    /// <summary>Image coordinate read for each box coordinate along one axis; −1 means zero padding.</summary>
    internal static int[] PadMap(int boxStart, int boxSize, int imageSize, PadMode mode, string axis)
    {
        int lo = Math.Max(boxStart, 0);
        int hi = (int)Math.Min((long)boxStart + boxSize, imageSize);
        if (hi <= lo)
        {
            throw new ArgumentException(
                $"The box [{boxStart}, {(long)boxStart + boxSize}) along {axis} does not overlap the image [0, {imageSize}).", "box");
        }

        int n = hi - lo;
        var map = new int[boxSize];
        for (int i = 0; i < boxSize; i++)
        {
            int p = boxStart + i;
            if (p >= lo && p < hi)
            {
                map[i] = p;
                continue;
            }

            map[i] = mode switch
            {
                PadMode.Zeros => -1,
                PadMode.Border => Math.Clamp(p, lo, hi - 1),
                PadMode.Reflection => lo + Reflect(p - lo, n),
                _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown PadMode."),
            };
        }

        return map;
    }

    /// <summary>numpy's "reflect" (edge not repeated), periodic for pads wider than the image.</summary>
    private static int Reflect(int q, int n)
    {
        if (n == 1)
        {
            return 0;
        }

        int period = 2 * (n - 1);
        q %= period;
        if (q < 0)
        {
            q += period;
        }

        return q < n ? q : period - q;
    }

    private static unsafe void HorizontalPass(RgbImage source, int[] rowMap, int firstRow, int rows, int outW, int kh,
        int[] tapOffsets, int[] tapWeights, byte[] temp, int tempPlane)
    {
        int stride = 3 * source.Width;
        fixed (byte* img = source.Pixels, t = temp)
        fixed (int* offs = tapOffsets, wts = tapWeights)
        {
            for (int r = 0; r < rows; r++)
            {
                byte* outR = t + r * outW;
                byte* outG = outR + tempPlane;
                byte* outB = outG + tempPlane;
                int imageRow = rowMap[firstRow + r];
                if (imageRow < 0)
                {
                    // Zero padding: Pillow's sum over a black row is ½, which rounds to 0.
                    new Span<byte>(outR, outW).Clear();
                    new Span<byte>(outG, outW).Clear();
                    new Span<byte>(outB, outW).Clear();
                    continue;
                }

                byte* row = img + (long)imageRow * stride;
                int* o = offs;
                int* w = wts;
                for (int x = 0; x < outW; x++)
                {
                    int sr = Half, sg = Half, sb = Half;
                    for (int k = 0; k < kh; k++)
                    {
                        byte* p = row + o[k];
                        int wk = w[k];
                        sr += p[0] * wk;
                        sg += p[1] * wk;
                        sb += p[2] * wk;
                    }

                    outR[x] = Clip8(sr);
                    outG[x] = Clip8(sg);
                    outB[x] = Clip8(sb);
                    o += kh;
                    w += kh;
                }
            }
        }
    }

    private static void VerticalPass(byte[] temp, int tempPlane, int firstRow, Coefficients vertical, int outW, int outH,
        Span<byte> destination)
    {
        int kv = vertical.KSize;
        int plane = outW * outH;
        int vecBytes = Vector<byte>.Count;
        var half = new Vector<int>(Half);
        var max = new Vector<int>(255);
        ref byte tempRef = ref MemoryMarshal.GetArrayDataReference(temp);
        ref byte dstRef = ref MemoryMarshal.GetReference(destination);
        Span<int> rowStarts = stackalloc int[kv];
        Span<int> weights = stackalloc int[kv];

        for (int c = 0; c < 3; c++)
        {
            for (int y = 0; y < outH; y++)
            {
                int count = vertical.Count[y];
                int first = vertical.Min[y] - firstRow;
                for (int k = 0; k < count; k++)
                {
                    rowStarts[k] = c * tempPlane + (first + k) * outW;
                    weights[k] = vertical.Weights[y * kv + k];
                }

                int dst = c * plane + y * outW;
                int x = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    for (; x <= outW - vecBytes; x += vecBytes)
                    {
                        Vector<int> a0 = half, a1 = half, a2 = half, a3 = half;
                        for (int k = 0; k < count; k++)
                        {
                            var bytes = Vector.LoadUnsafe(ref tempRef, (nuint)(rowStarts[k] + x));
                            Vector.Widen(bytes, out Vector<ushort> lo, out Vector<ushort> hi);
                            Vector.Widen(lo, out Vector<uint> u0, out Vector<uint> u1);
                            Vector.Widen(hi, out Vector<uint> u2, out Vector<uint> u3);
                            var wk = new Vector<int>(weights[k]);
                            a0 += Vector.AsVectorInt32(u0) * wk;
                            a1 += Vector.AsVectorInt32(u1) * wk;
                            a2 += Vector.AsVectorInt32(u2) * wk;
                            a3 += Vector.AsVectorInt32(u3) * wk;
                        }

                        var s0 = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(a0, PrecisionBits), Vector<int>.Zero), max);
                        var s1 = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(a1, PrecisionBits), Vector<int>.Zero), max);
                        var s2 = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(a2, PrecisionBits), Vector<int>.Zero), max);
                        var s3 = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(a3, PrecisionBits), Vector<int>.Zero), max);
                        var n0 = Vector.Narrow(Vector.AsVectorUInt32(s0), Vector.AsVectorUInt32(s1));
                        var n1 = Vector.Narrow(Vector.AsVectorUInt32(s2), Vector.AsVectorUInt32(s3));
                        Vector.Narrow(n0, n1).StoreUnsafe(ref dstRef, (nuint)(dst + x));
                    }
                }

                for (; x < outW; x++)
                {
                    int s = Half;
                    for (int k = 0; k < count; k++)
                    {
                        s += Unsafe.Add(ref tempRef, rowStarts[k] + x) * weights[k];
                    }

                    Unsafe.Add(ref dstRef, dst + x) = Clip8(s);
                }

            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Clip8(int sum)
    {
        int v = sum >> PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /// <summary>Pillow's per-axis resampling table for a box of <c>inSize</c> pixels resized to <c>outSize</c>.</summary>
    internal sealed class Coefficients
    {
        private Coefficients(int kSize, int[] min, int[] count, int[] weights)
        {
            KSize = kSize;
            Min = min;
            Count = count;
            Weights = weights;
        }

        /// <summary>Taps reserved per output (ceil(support)·2 + 1); taps past <see cref="Count"/> weigh 0.</summary>
        public int KSize { get; }

        /// <summary>First input index read for each output.</summary>
        public int[] Min { get; }

        /// <summary>Number of input indices read for each output.</summary>
        public int[] Count { get; }

        /// <summary>Fixed-point weights (2^22 = 1), <see cref="KSize"/> per output.</summary>
        public int[] Weights { get; }

        public static Coefficients Compute(int inSize, int outSize)
        {
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = 1.0 * filterScale; // the bilinear (triangle) kernel's support is 1
            int kSize = (int)Math.Ceiling(support) * 2 + 1;
            var min = new int[outSize];
            var count = new int[outSize];
            var weights = new int[outSize * kSize];
            var k = new double[kSize];
            double inverse = 1.0 / filterScale;
            for (int o = 0; o < outSize; o++)
            {
                double center = (o + 0.5) * scale;
                int lo = Math.Max((int)(center - support + 0.5), 0);
                int hi = Math.Min((int)(center + support + 0.5), inSize);
                int n = hi - lo;
                double sum = 0;
                for (int j = 0; j < n; j++)
                {
                    double w = Triangle((j + lo - center + 0.5) * inverse);
                    k[j] = w;
                    sum += w;
                }

                for (int j = 0; j < n; j++)
                {
                    double normalised = sum != 0.0 ? k[j] / sum : k[j];
                    weights[o * kSize + j] = normalised < 0
                        ? (int)(-0.5 + normalised * (1 << PrecisionBits))
                        : (int)(0.5 + normalised * (1 << PrecisionBits));
                }

                min[o] = lo;
                count[o] = Math.Max(n, 0);
            }

            return new Coefficients(kSize, min, count, weights);
        }

        private static double Triangle(double x)
        {
            x = Math.Abs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        }
    }
}
