namespace PetsML.Host.Cli;

/// <summary>The documented exit codes of <c>petsml</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>Bad input: a missing or foreign model file, an unreadable image, a folder without images, no network...</summary>
    public const int BadInput = 1;

    /// <summary>Usage error: an unknown command or option, or an option value outside its allowed range.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl+C (128 + SIGINT, the shell convention).</summary>
    public const int Cancelled = 130;
}
