using PetsML.Host.Cli;
using PetsML.Host.Commands;
using Spectre.Console.Cli;

// petsml: the fastai pet-breeds lesson from a terminal. Only registration lives here; see Commands/.
// First of all: glibc's malloc settings for libtorch (one restart of this process, huge pages only for serve; see GlibcMallocTunables).
PetsML.Host.Native.GlibcMallocTunables.ApplyByRestarting(args);
if (Environment.GetEnvironmentVariable("PETSML_DEBUG") is "1" or "true")
    Console.Error.WriteLine($"petsml: glibc malloc tunables {PetsML.Host.Native.GlibcMallocTunables.Describe(args)}");
var console = HostConsole.Standard();
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C: stop between batches (a checkpoint is kept); a second one ends the process at once.
    if (stop.IsCancellationRequested) return;
    e.Cancel = true;
    console.Warn("Stopping after the current batch (Ctrl+C again to abort at once)...");
    stop.Cancel();
};
var app = new CommandApp();
app.Configure(config => PetsCommands.Configure(config, console));
return app.Run(args, stop.Token);
