namespace PetsML.Host.Commands.Review;

/// <summary>A review request or journal the server refuses: an HTTP status and a message for the page (never a stack trace).</summary>
internal sealed class ReviewException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}
