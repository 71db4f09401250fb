using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PetsML;
using PetsML.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers PetsML predictions with ASP.NET Core's dependency injection.</summary>
public static class PetsServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="PetsPredictor"/> (a singleton) over the model at <paramref name="modelPath"/>, loaded when the
    /// host starts so a bad file stops startup; inject it, or map the endpoint with <c>app.MapPetsMLPredictions()</c>.
    /// </summary>
    /// <example><code>builder.Services.AddPetsMLPredictions("model.zip", o => o.Top = 5);</code></example>
    public static IServiceCollection AddPetsMLPredictions(this IServiceCollection services, string modelPath, Action<PetsPredictionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new PetsPredictionOptions { ModelPath = modelPath };
        configure?.Invoke(options);
        options.Validate();
        services.TryAddSingleton(provider => new PetsPredictor(options, provider.GetService<ILogger<PetsPredictor>>()));
        services.AddHostedService<PredictorStartup>();
        return services;
    }
}

/// <summary>Creates the predictor when the host starts, so the model loads before the first request.</summary>
internal sealed class PredictorStartup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<PetsPredictor>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
