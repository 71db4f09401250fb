using System.Globalization;

namespace PetsML.Bench;

/// <summary>Tiny "--name value" parser shared by the benchmark verbs.</summary>
internal sealed class BenchArgs
{
    readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public BenchArgs(string[] args, params string[] flags)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
            var name = args[i][2..];
            if (flags.Contains(name)) _flags.Add(name);
            else if (i + 1 < args.Length) _values[name] = args[++i];
            else throw new ArgumentException($"--{name} needs a value");
        }
    }

    public string? String(string name, string? fallback = null) => _values.TryGetValue(name, out var v) ? v : fallback;
    public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
    public double Double(string name, double fallback) => _values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
    public bool Flag(string name) => _flags.Contains(name);
}
