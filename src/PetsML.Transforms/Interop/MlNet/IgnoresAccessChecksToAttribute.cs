// Read by CoreCLR (not by the compiler): calls from this assembly into the internals of the named ML.NET
// assemblies are allowed. The compiler sees those internals through publicized reference copies
// (build/MlNetInternals/PublicizeMlNet.targets). Used only by persistence (the Interop/MlNet folders) and by the
// MLContext seed and log channel the trainer reads (PetsML.Trainers' FineTuning/MlNetContext.cs; PetsML.Trainers sees
// this type through InternalsVisibleTo).
namespace System.Runtime.CompilerServices;

[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
{
    public string AssemblyName { get; } = assemblyName;
}
