using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace PetsML.Transforms.Interop.MlNet;

/// <summary>Implemented once per PetsML assembly: registers that assembly's model loaders.</summary>
internal interface IComponentLoaders
{
    void Register(ComponentCatalog catalog);
}

/// <summary>
/// The one line a fresh process needs before <c>mlContext.Model.Load</c> of a model that contains
/// PetsML components: <c>mlContext.RegisterPetsML();</c>.
/// </summary>
/// <remarks>
/// ML.NET gives every <see cref="MLContext"/> its own, initially empty component catalog and finds a
/// third-party loader only through an internal attribute (see MlNetInternals.cs), so the loaders are
/// added at run time. Saving needs no registration.
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
            foreach (var type in assembly.GetTypes())
                if (typeof(IComponentLoaders).IsAssignableFrom(type) && type is { IsClass: true, IsAbstract: false })
                    ((IComponentLoaders)Activator.CreateInstance(type, nonPublic: true)!).Register(mlContext.ComponentCatalog);
        }
        return mlContext;
    }
}
