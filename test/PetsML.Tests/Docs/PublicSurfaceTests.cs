using Microsoft.ML;

namespace PetsML.Tests.Docs;

/// <summary>
/// The public surface of the libraries is small and deliberate: catalog extensions in Microsoft.ML (like ML.NET's own
/// catalogs), the types a user touches in PetsML, everything else internal. Adding a public type means adding it here.
/// </summary>
[TestClass]
public sealed class PublicSurfaceTests
{
    static readonly string[] MicrosoftMlTypes =
    [
        "PetsMLRegistration", "PetsTrainersCatalog", "PetsTransformsCatalog",
    ];

    static readonly string[] PetsMlTypes =
    [
        // Options and the enums they expose; the trainer's knobs grouped as LightGbm groups its Booster's (Compute, Tricks,
        // Checkpointing), and the learner shares the trainer's ComputeOptions.
        "AugmentOptions", "BatchPreparation", "Bf16BatchNorm", "CheckpointOptions", "ComputeOptions", "FolderSplitOptions",
        "ImageDecodeOptions", "ImageFineTuningOptions", "LearnerOptions", "NormalizationStats", "PadMode", "PresizeMethod",
        "PresizeOptions", "ResNetArchitecture", "TrainingPrecision", "TrainingTricksOptions", "UnlabeledFiles",
        // The estimators and transformers the catalogs return, and their base.
        "AugmentEstimator", "AugmentTransformer", "FileLabelEstimator", "FileLabelTransformer", "FolderSplitEstimator",
        "FolderSplitTransformer", "ImageClassifierTransformer", "ImageFineTuningTrainer", "PresizeEstimator", "PresizeTransformer",
        "RandomSplitEstimator", "RandomSplitTransformer", "RowMappingTransformer", "RowMappingTransformer+MappedDataView",
        // Rows and results a user reads.
        "ImageFileList", "ImageFileRow", "GradCamMap", "LrFindResult", "TrainingHistory", "EpochRecord", "BatchProgress", "TrainingPhase",
        // The learner, its schedule argument, its loop and the callbacks a user adds.
        "Learner", "LearningRate", "TrainingContext", "TrainingCheckpoint", "ILearnerCallback", "Recorder",
        "CallbackOrder", "BestValidLossTracker", "EarlyStopping", "KeepBestEpoch", "GradientAccumulation", "MixHandler", "MixUp", "CutMix",
        // Exceptions a user catches or throws.
        "CancelSignalException", "CancelFitException", "CancelValidateException", "TrainingDivergedException",
        "ImageDecodeException", "ImageDecodeFailure",
    ];

    static IReadOnlyList<Type> Exported() =>
        new[] { typeof(PetsTransformsCatalog).Assembly, typeof(PetsTrainersCatalog).Assembly, typeof(PetsML.Onnx.Export.OnnxExporter).Assembly }
            .SelectMany(a => a.GetExportedTypes())
            .ToList();

    [TestMethod]
    public void Every_public_type_is_in_namespace_Microsoft_ML_or_PetsML()
    {
        var elsewhere = Exported().Where(t => t.Namespace is not ("Microsoft.ML" or "PetsML")).Select(t => t.FullName).Order().ToList();
        Assert.IsEmpty(elsewhere, "public types outside Microsoft.ML and PetsML:\n" + string.Join("\n", elsewhere));
    }

    [TestMethod]
    public void The_public_types_are_exactly_the_listed_ones()
    {
        static string Name(Type t) => t.DeclaringType is null ? t.Name : $"{t.DeclaringType.Name}+{t.Name}";
        var exported = Exported();
        var actualMl = exported.Where(t => t.Namespace == "Microsoft.ML").Select(Name).Order().ToList();
        // Nested classes holding a type's documented defaults (PresizeOptions.Defaults...) are part of their options class.
        var actualPets = exported.Where(t => t.Namespace == "PetsML" && t.Name != "Defaults").Select(Name).Order().ToList();

        var unlistedPets = actualPets.Except(PetsMlTypes).ToList();
        var missingPets = PetsMlTypes.Except(actualPets).ToList();
        Assert.IsEmpty(unlistedPets, "new public types in PetsML (make them internal, or list them here on purpose): " + string.Join(", ", unlistedPets));
        Assert.IsEmpty(missingPets, "listed PetsML types no longer public: " + string.Join(", ", missingPets));
        CollectionAssert.AreEqual(MicrosoftMlTypes.Order().ToList(), actualMl, "catalog classes in Microsoft.ML: " + string.Join(", ", actualMl));
        // 59 types before the trainer's options were grouped, 62 with their three groups.
        Assert.IsLessThanOrEqualTo(62, actualPets.Count + actualMl.Count, "the public surface stays small");
    }

    /// <summary>PetsML.Serving: the predictor, its options and results in PetsML, and one extension class in each namespace
    /// ASP.NET Core apps already import (as AddXyz/MapXyz extensions are).</summary>
    [TestMethod]
    public void The_serving_package_exports_only_the_predictor_and_its_two_extension_classes()
    {
        static string Name(Type t) => (t.DeclaringType is null ? t.Name : $"{t.DeclaringType.Name}+{t.Name}") + " in " + t.Namespace;
        var exported = typeof(PetsPredictor).Assembly.GetExportedTypes().Select(Name).Order().ToList();
        string[] expected =
        [
            "LabelProbability in PetsML", "PetsPrediction in PetsML", "PetsPredictionOptions in PetsML",
            "PetsPredictionOptions+Defaults in PetsML", "PetsPredictor in PetsML",
            "PetsEndpointRouteBuilderExtensions in Microsoft.AspNetCore.Builder",
            "PetsServiceCollectionExtensions in Microsoft.Extensions.DependencyInjection",
        ];
        CollectionAssert.AreEqual(expected.Order().ToList(), exported, string.Join(", ", exported));
    }
}
