using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.ML;

namespace PetsML.Tests.Docs;

/// <summary>
/// One options style for every public options class: a nested <c>Defaults</c> class, settable properties (no init-only
/// ones), an internal <c>Validate</c> that names the option, and an internal <c>Clone</c> the component takes at construction,
/// so changing the options afterwards changes nothing.
/// </summary>
[TestClass]
public sealed class OptionsStyleTests
{
    static IEnumerable<Type> OptionsClasses() =>
        new[] { typeof(PetsTransformsCatalog).Assembly, typeof(PetsTrainersCatalog).Assembly, typeof(PetsPredictor).Assembly }
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t.Namespace == "PetsML" && t.IsClass && t.Name.EndsWith("Options", StringComparison.Ordinal));

    static bool IsInitOnly(PropertyInfo p) =>
        p.SetMethod?.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit)) == true;

    [TestMethod]
    public void Every_public_options_class_has_defaults_setters_validate_and_clone()
    {
        var types = OptionsClasses().ToList();
        Assert.IsGreaterThanOrEqualTo(10, types.Count, string.Join(", ", types.Select(t => t.Name)));
        var problems = new List<string>();
        foreach (var type in types)
        {
            if (type.GetNestedType("Defaults") is not { IsAbstract: true, IsSealed: true }) problems.Add($"{type.Name} has no static Defaults class");
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(IsInitOnly))
                problems.Add($"{type.Name}.{p.Name} is init-only");
            foreach (var name in new[] { "Validate", "Clone" })
                if (type.GetMethod(name, BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes) is null)
                    problems.Add($"{type.Name} has no internal {name}()");
            if (type.GetMethod("Validate", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes) is not null)
                problems.Add($"{type.Name}.Validate is public (components validate their copy)");
        }
        Assert.IsEmpty(problems, string.Join("\n", problems));
    }

    [TestMethod]
    public void Components_keep_the_options_they_were_made_with()
    {
        var presizeOptions = new PresizeOptions { Size = 100 };
        var presize = new PresizeTransformer("Out", "In", presizeOptions, new ImageDecodeOptions());
        presizeOptions.Size = 50;
        presize.Options.Size = 25;
        Assert.AreEqual(100, presize.Width);

        var settings = new Dictionary<string, string> { ["data"] = "pets" };
        var trainerOptions = new ImageFineTuningOptions
        {
            BatchSize = 8, Compute = { Threads = 2 }, Tricks = { MixUp = 0.4 }, Checkpointing = { Path = "run.checkpoint", Settings = settings },
        };
        var trainer = new MLContext(seed: 1).MulticlassClassification.Trainers.FineTuneImageClassifier(trainerOptions);
        trainerOptions.BatchSize = 4;
        trainerOptions.Augment.Size = 64;
        (trainerOptions.Compute.Threads, trainerOptions.Tricks.MixUp, trainerOptions.Checkpointing.Path) = (1, 0, null);
        settings["data"] = "cars";
        trainer.Options.BatchSize = 2;
        trainer.Options.Compute.Threads = 3;
        trainer.Options.Tricks.CutMix = 1;
        Assert.AreEqual(8, trainer.Options.BatchSize);
        Assert.AreEqual(AugmentOptions.Defaults.Size, trainer.Options.Augment.Size);
        Assert.AreEqual(2, trainer.Options.Compute.Threads);
        Assert.AreEqual((0.4, 0.0), (trainer.Options.Tricks.MixUp, trainer.Options.Tricks.CutMix));
        Assert.AreEqual("run.checkpoint", trainer.Options.Checkpointing.Path);
        Assert.AreEqual("pets", trainer.Options.Checkpointing.Settings!["data"]);
    }
}
