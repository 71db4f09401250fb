namespace PetsML.Host.Download;

/// <summary>
/// Where downloaded data sets live (fastai's <c>~/.fastai/data</c>): <c>--dest</c> if given, else <c>$PETSML_DATA</c>, else
/// <c>$XDG_CACHE_HOME/petsml/data</c>, else <c>~/.cache/petsml/data</c>.
/// </summary>
public static class DataCache
{
    /// <summary>The environment variable that moves the cache.</summary>
    public const string EnvironmentVariable = "PETSML_DATA";

    public static string Resolve(string? dest)
    {
        if (!string.IsNullOrWhiteSpace(dest)) return Path.GetFullPath(dest);
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env) return Path.GetFullPath(env);
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.GetFullPath(Path.Combine(cache, "petsml", "data"));
    }
}
