using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace PetsML.Tests.Docs;

/// <summary>The C# in the README compiles against the real libraries (it is not run: it needs the full data set).</summary>
[TestClass]
public sealed class ReadmeCodeTests
{
    [TestMethod]
    public void The_readme_csharp_compiles()
    {
        var readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Docs", "README.md"));
        var blocks = Regex.Matches(readme, "```csharp\\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        Assert.IsNotEmpty(blocks, "the README has a C# block");

        // Make sure the libraries the sample uses are loaded, then reference everything loaded.
        _ = typeof(Microsoft.ML.PetsTrainersCatalog);
        _ = typeof(Microsoft.ML.PetsTransformsCatalog);
        _ = typeof(Microsoft.ML.MLContext);
        _ = typeof(Microsoft.ML.ImageEstimatorsCatalog); // LoadRawImageBytes, in the first example
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && !string.IsNullOrEmpty(a.Location))
            .Select(a => MetadataReference.CreateFromFile(a.Location));
        // What `dotnet new console` projects get from ImplicitUsings.
        const string implicitUsings = "global using System; global using System.IO; global using System.Linq; global using System.Collections.Generic; " +
                                      "global using System.Threading; global using System.Threading.Tasks; global using System.Net.Http;";
        // Each block is a program of its own (top-level statements), as a reader would paste it.
        for (int b = 0; b < blocks.Count; b++)
        {
            var trees = new[] { blocks[b], implicitUsings }.Select(t => CSharpSyntaxTree.ParseText(t, new CSharpParseOptions(LanguageVersion.Latest)));
            var compilation = CSharpCompilation.Create($"ReadmeSample{b}", trees, references,
                new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
            using var output = new MemoryStream();
            var result = compilation.Emit(output);
            var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.IsTrue(result.Success, $"README C# block {b + 1} does not compile:\n" + string.Join("\n", errors));
            var usings = Regex.Matches(blocks[b], @"^using [\w.]+;", RegexOptions.Multiline).Count;
            Assert.IsTrue(usings <= 3, $"README C# block {b + 1} needs at most three using lines (Microsoft.ML, Microsoft.ML.Data, PetsML), not {usings}");
        }
    }
}
