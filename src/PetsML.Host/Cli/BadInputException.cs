namespace PetsML.Host.Cli;

/// <summary>Input the user must fix (a file, a folder, a model): reported as one line with exit code <see cref="ExitCodes.BadInput"/>.</summary>
public sealed class BadInputException(string message, Exception? inner = null) : Exception(message, inner);
