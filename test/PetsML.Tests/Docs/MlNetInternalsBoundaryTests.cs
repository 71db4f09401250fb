using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace PetsML.Tests.Docs;

/// <summary>
/// The libraries compile against publicized copies of Microsoft.ML.Core/Data (build/MlNetInternals), so the compiler
/// would let any file use an ML.NET internal. The policy (ARCHITECTURE.md): only the Interop/MlNet folder of each
/// library does. Each library's sources (and its generated files under obj/) are compiled twice with Roslyn, against
/// the publicized references the build used and against the real ML.NET assemblies; an error that only the real
/// assemblies give is a use of an ML.NET internal, and it must be in Interop/MlNet.
/// </summary>
[TestClass]
public sealed class MlNetInternalsBoundaryTests
{
    const string Folder = "/Interop/MlNet/";

    [TestMethod]
    [DataRow("PetsML.Transforms")]
    [DataRow("PetsML.Trainers")]
    public void Ml_net_internals_are_used_only_in_Interop_MlNet(string library)
    {
        var uses = InternalUses(library, extraSource: null);
        Assert.IsTrue(uses.Any(u => u.File.Contains(Folder)), $"the scan finds the internals {library}'s Interop/MlNet uses (else it sees nothing)");
        var outside = uses.Where(u => !u.File.Contains(Folder)).Select(u => u.ToString()).ToList();
        Assert.IsEmpty(outside, $"ML.NET internals used outside {library}{Folder} (move the code there):\n" + string.Join("\n", outside));
    }

    [TestMethod]
    public void A_planted_internal_use_outside_the_folder_is_found()
    {
        const string planted = """
            namespace PetsML.Transforms.Labeling;
            internal static class PlantedProbe
            {
                static System.IO.BinaryReader Read(Microsoft.ML.ModelLoadContext ctx) => ctx.Reader;
            }
            """;
        var uses = InternalUses("PetsML.Transforms", planted);
        Assert.IsTrue(uses.Any(u => u.File.EndsWith("Labeling/PlantedProbe.cs", StringComparison.Ordinal)),
            "a ModelLoadContext use in Labeling/ is reported:\n" + string.Join("\n", uses));
    }

    sealed record Use(string File, int Line, string Message)
    {
        public override string ToString() => $"{File}:{Line}: {Message}";
    }

    static List<Use> InternalUses(string library, string? extraSource)
    {
        var root = RepoRoot();
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        var project = Path.Combine(root, "src", library);
        var obj = Path.Combine(project, "obj", configuration, "net10.0");
        Assert.IsTrue(Directory.Exists(Path.Combine(obj, "publicized")), $"{obj}/publicized is missing: build {library} in {configuration} first");

        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = Directory.EnumerateFiles(project, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Concat(Directory.EnumerateFiles(obj, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains($"{Path.DirectorySeparatorChar}publicized")))
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, Path.GetRelativePath(root, f).Replace('\\', '/')))
            .ToList();
        if (extraSource is not null)
            trees.Add(CSharpSyntaxTree.ParseText(extraSource, parse, $"src/{library}/Labeling/PlantedProbe.cs"));

        var real = References(library, publicizedFolder: null);
        var publicized = References(library, Path.Combine(obj, "publicized"));
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true);
        static IEnumerable<Diagnostic> Errors(CSharpCompilation c) => c.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);

        var baseline = Errors(CSharpCompilation.Create(library, trees, publicized, options))
            .Select(d => (d.Id, d.Location.GetLineSpan().Path, d.Location.SourceSpan.Start)).ToHashSet();
        return Errors(CSharpCompilation.Create(library, trees, real, options))
            .Where(d => !baseline.Contains((d.Id, d.Location.GetLineSpan().Path, d.Location.SourceSpan.Start)))
            .Select(d => new Use(d.Location.GetLineSpan().Path, d.Location.GetLineSpan().StartLinePosition.Line + 1, $"{d.Id} {d.GetMessage()}"))
            .ToList();
    }

    /// <summary>The runtime's assemblies and everything in the test's output but the library itself; ML.NET's Core and Data from <paramref name="publicizedFolder"/> when given.</summary>
    static List<MetadataReference> References(string library, string? publicizedFolder)
    {
        var files = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var path in ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator))
            files[Path.GetFileName(path)] = path;
        foreach (var path in Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
            files[Path.GetFileName(path)] = path;
        files.Remove(library + ".dll");
        if (publicizedFolder is not null)
            foreach (var path in Directory.EnumerateFiles(publicizedFolder, "*.dll"))
                files[Path.GetFileName(path)] = path;
        return files.Values.Where(IsManaged).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }

    static bool IsManaged(string path)
    {
        try { System.Reflection.AssemblyName.GetAssemblyName(path); return true; }
        catch (BadImageFormatException) { return false; }
    }

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PetsML.sln"))) return dir.FullName;
        throw new AssertFailedException("PetsML.sln not found above the test's output: the test reads the repository's sources.");
    }
}
