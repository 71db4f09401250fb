using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PetsML;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The prediction endpoint over the registered <see cref="PetsPredictor"/>.</summary>
public static class PetsEndpointRouteBuilderExtensions
{
    /// <summary>
    /// <c>POST {pattern}</c> with the image as the request body (any content type; the bytes decide), optional <c>?top=K</c>:
    /// 200 with <c>{"label","probability","top":[{"label","probability"}],"isUnknown","outlierScore","modelVersion"}</c> (<c>isUnknown</c>: the image is none of the classes and <c>label</c> only the closest; <c>outlierScore</c> is null for a model trained before calibration). Errors are JSON
    /// <c>{"error","reason"}</c> without stack traces: 400 for empty, non-image, corrupt or unreadable bytes and a bad
    /// <c>top</c>, 413 for more than <see cref="PetsPredictionOptions.MaxImageBytes"/> or more pixels than the model decodes,
    /// 503 when more than <see cref="PetsPredictionOptions.MaxQueuedRequests"/> requests already wait.
    /// </summary>
    public static IEndpointConventionBuilder MapPetsMLPredictions(this IEndpointRouteBuilder endpoints, string pattern = "/predict")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapPost(pattern, (HttpContext http, PetsPredictor predictor, ILoggerFactory logs)
            => PredictEndpoint.Handle(http, predictor, logs.CreateLogger("PetsML.Serving")));
    }
}

/// <summary>The request handling behind <see cref="PetsEndpointRouteBuilderExtensions.MapPetsMLPredictions"/>.</summary>
internal static class PredictEndpoint
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task Handle(HttpContext http, PetsPredictor predictor, ILogger logger)
    {
        var options = predictor.Options;
        if (!predictor.TryEnterRequest())
        {
            http.Response.Headers.RetryAfter = "1";
            await Error(http, StatusCodes.Status503ServiceUnavailable, "Busy", $"more than {options.MaxQueuedRequests} requests are waiting (PetsPredictionOptions.MaxQueuedRequests); try again");
            return;
        }
        try
        {
            int? top = null;
            if (http.Request.Query.TryGetValue("top", out var topText))
            {
                if (!int.TryParse(topText, out int k) || k < 1)
                {
                    await Error(http, StatusCodes.Status400BadRequest, "BadTop", $"top must be a whole number of at least 1; got '{Truncate(topText.ToString())}'");
                    return;
                }
                top = k;
            }
            if (http.Request.ContentLength > options.MaxImageBytes)
            {
                await Error(http, StatusCodes.Status413PayloadTooLarge, nameof(ImageDecodeFailure.TooLarge),
                    $"{http.Request.ContentLength} bytes exceeds the limit of {options.MaxImageBytes} bytes (PetsPredictionOptions.MaxImageBytes)");
                return;
            }
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
                bodyLimit.MaxRequestBodySize = options.MaxImageBytes + 1; // the read below reports the excess itself
            var prediction = await predictor.PredictAsync(http.Request.Body, top, http.RequestAborted);
            await http.Response.WriteAsJsonAsync(new
            {
                label = prediction.Label,
                probability = prediction.Probability,
                top = prediction.Top.Select(t => new { label = t.Label, probability = t.Probability }),
                isUnknown = prediction.IsUnknown,
                outlierScore = float.IsFinite(prediction.OutlierScore) ? prediction.OutlierScore : (float?)null,
                modelVersion = prediction.ModelVersion,
            }, Json, http.RequestAborted);
        }
        catch (ImageDecodeException e)
        {
            int status = e.Reason == ImageDecodeFailure.TooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest;
            await Error(http, status, e.Reason.ToString(), Detail(e));
        }
        catch (BadHttpRequestException e)
        {
            await Error(http, e.StatusCode, "BadRequest", "the request body could not be read (" + Truncate(e.Message) + ")");
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nothing to answer.
        }
        catch (Exception e)
        {
            logger.LogError(e, "PetsML: prediction failed");
            await Error(http, StatusCodes.Status500InternalServerError, "Internal", "the prediction failed; the server log has the details");
        }
        finally { predictor.ExitRequest(); }
    }

    /// <summary>The decoder's reason without the source name it starts with ("row 0: ...").</summary>
    static string Detail(ImageDecodeException e)
        => e.Message.StartsWith(e.SourceName + ": ", StringComparison.Ordinal) ? e.Message[(e.SourceName.Length + 2)..] : e.Message;

    static string Truncate(string text) => text.Length > 100 ? text[..100] + "..." : text;

    static async Task Error(HttpContext http, int status, string reason, string message)
    {
        if (http.Response.HasStarted) return;
        http.Response.StatusCode = status;
        await http.Response.WriteAsJsonAsync(new { error = message, reason }, Json);
    }
}
