using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace PetsML.Trainers.Interop.MlNet;

/// <summary>
/// What ML.NET hands its own trainers and keeps internal: the MLContext behind a catalog, its seed and its log
/// channels (compiled against publicized references, as all of Interop/MlNet). Not used to find data.
/// </summary>
internal static class MlNetContext
{
    /// <summary>The MLContext (host environment) a trainers catalog belongs to.</summary>
    public static IHostEnvironment EnvironmentOf(MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog)
        => ((Microsoft.ML.Data.IInternalCatalog)catalog).Environment;

    /// <summary>The seed given to <c>new MLContext(seed:)</c>, or null when none was.</summary>
    public static int? SeedOf(IHostEnvironment environment) => (environment as IHostEnvironmentInternal)?.Seed;

    /// <summary>Writes one informational line to <c>mlContext.Log</c> on a channel named <paramref name="channelName"/>.</summary>
    public static void Info(IHostEnvironment environment, string channelName, string line)
    {
        using var channel = environment.Start(channelName);
        channel.Send(new ChannelMessage(ChannelMessageKind.Info, MessageSensitivity.None, line));
    }
}
