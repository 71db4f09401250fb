// Read by CoreCLR (not by the compiler): calls from this assembly into the internals of the named ML.NET
// assemblies are allowed. The compiler sees those internals through publicized reference copies
// (build/MlNetInternals/PublicizeMlNet.targets). Used only in the Interop/MlNet folders: persistence, and the
// MLContext seed and log channel the trainer reads (PetsML.Trainers' Interop/MlNet/MlNetContext.cs; PetsML.Trainers
// sees this type through InternalsVisibleTo). MlNetInternalsBoundaryTests fails on a use anywhere else.
namespace System.Runtime.CompilerServices;

[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
{
    public string AssemblyName { get; } = assemblyName;
}
