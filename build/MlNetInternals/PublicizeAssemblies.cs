// An MSBuild task (compiled by RoslynCodeTaskFactory, see PublicizeMlNet.targets): copies of assemblies
// with every type and member public, to compile against. Only the compiler sees them; at run time the real
// assemblies load and CoreCLR honours [IgnoresAccessChecksTo] for the internals used.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Mono.Cecil;

public class PublicizeAssemblies : Task
{
    [Required] public ITaskItem[] Assemblies { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string OutputDirectory { get; set; } = "";
    [Output] public ITaskItem[] Publicized { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        Directory.CreateDirectory(OutputDirectory);
        var result = new List<ITaskItem>();
        foreach (var item in Assemblies)
        {
            var source = item.GetMetadata("FullPath");
            var target = Path.Combine(OutputDirectory, Path.GetFileName(source));
            if (!File.Exists(target) || File.GetLastWriteTimeUtc(target) < File.GetLastWriteTimeUtc(source))
            {
                var temporary = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
                var resolver = new DefaultAssemblyResolver();
                resolver.AddSearchDirectory(Path.GetDirectoryName(source));
                using (var module = ModuleDefinition.ReadModule(source, new ReaderParameters { AssemblyResolver = resolver }))
                {
                    foreach (var type in module.GetTypes())
                    {
                        if (type.IsNested) type.IsNestedPublic = true; else type.IsPublic = true;
                        foreach (var method in type.Methods) method.IsPublic = true;
                        // A field named like an event is the event's backing field: public, it would clash with the event.
                        var events = new HashSet<string>(type.Events.Select(e => e.Name));
                        foreach (var field in type.Fields) if (!events.Contains(field.Name)) field.IsPublic = true;
                    }
                    module.Write(temporary);
                }
                File.Copy(temporary, target, overwrite: true);
                File.Delete(temporary);
                Log.LogMessage(MessageImportance.Low, $"Publicized {source} -> {target}");
            }
            var output = new TaskItem(target);
            item.CopyMetadataTo(output);
            result.Add(output);
        }
        Publicized = result.ToArray();
        return !Log.HasLoggedErrors;
    }
}
