using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Transforms.Pipeline;

namespace PetsML.Bench;

/// <summary>
/// Writes the presized validation bytes (decode + centre crop + antialiased resize, S×S×3 uint8, as the Presize column holds them) of the first N images of a
/// folder, in file-name order, so bench/compare_presize.py can set them beside Pillow's (the reference's item path).
/// </summary>
internal static class PresizeDump
{
    public const string Help = "presized validation bytes of the first N images: --data DIR [--count 20] [--presize 460] --out FILE";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var data = a.String("data") ?? throw new ArgumentException("--data DIR is required");
        var output = a.String("out") ?? throw new ArgumentException("--out FILE is required");
        int count = a.Int("count", 20), presize = a.Int("presize", 460);
        var ml = new MLContext(seed: 0);
        var files = ml.Data.LoadImageFiles(data);
        var presized = ml.Transforms.Presize(new PresizeOptions { Size = presize }).Fit(files).Transform(files);
        // One copy per row: GetColumn of a vector column hands out one reused buffer.
        var paths = new List<string>();
        var images = new List<byte[]>();
        using (var cursor = presized.GetRowCursor(presized.Schema))
        {
            var path = cursor.GetGetter<ReadOnlyMemory<char>>(presized.Schema[PetsColumnNames.ImagePath]);
            var image = cursor.GetGetter<VBuffer<byte>>(presized.Schema[PetsColumnNames.Image]);
            ReadOnlyMemory<char> p = default;
            VBuffer<byte> v = default;
            while (cursor.MoveNext())
            {
                path(ref p);
                image(ref v);
                paths.Add(p.ToString());
                images.Add(v.DenseValues().ToArray());
            }
        }
        using var file = File.Create(output);
        using var names = new StreamWriter(output + ".txt");
        foreach (var i in Enumerable.Range(0, paths.Count).OrderBy(i => Path.GetFileName(paths[i]), StringComparer.Ordinal).Take(count))
        {
            names.WriteLine(Path.GetFileName(paths[i]));
            file.Write(images[i]);
        }
        return 0;
    }
}
