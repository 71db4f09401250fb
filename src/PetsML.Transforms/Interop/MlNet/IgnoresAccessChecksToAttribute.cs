// Read by CoreCLR (not by the compiler): calls from this assembly into the internals of the named ML.NET
// assemblies are allowed. The compiler sees those internals through publicized reference copies
// (build/MlNetInternals/PublicizeMlNet.targets). Used only by the persistence code in this folder.
namespace System.Runtime.CompilerServices;

[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
{
    public string AssemblyName { get; } = assemblyName;
}
