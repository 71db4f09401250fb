using System.Reflection;

namespace Microsoft.ML;

/// <summary>
/// Kept for callers written before PetsML's loaders were found by ML.NET itself: <c>mlContext.RegisterPetsML();</c>
/// is no longer needed before <c>mlContext.Model.Load</c>, and harmless.
/// </summary>
/// <remarks>
/// A model .zip names the assembly of each component, and ML.NET registers that assembly's
/// <c>[assembly: LoadableClass]</c> loaders when it loads the model (TransformLoaders.cs, TrainerLoaders.cs). This method
/// registers the same assemblies up front, through ML.NET's public <c>ComponentCatalog.RegisterAssembly</c>.
/// </remarks>
public static class PetsMLRegistration
{
    static readonly string[] PetsAssemblies = { "PetsML.Transforms", "PetsML.Trainers" };

    /// <summary>Registers the loaders of every PetsML component (transforms and trainer) in this context. Idempotent.</summary>
    public static MLContext RegisterPetsML(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        foreach (var name in PetsAssemblies)
        {
            Assembly assembly;
            try { assembly = Assembly.Load(name); }
            catch (FileNotFoundException) { continue; } // an app may use the transforms without the trainer
            mlContext.ComponentCatalog.RegisterAssembly(assembly);
        }
        return mlContext;
    }
}
