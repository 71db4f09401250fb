namespace PetsML.Transforms.Presizing;

/// <summary>
/// A rectangle in image pixel coordinates, [X, X + Width) × [Y, Y + Height). For
/// <see cref="PresizeMethod.Pad"/> it extends beyond the image (X or Y negative, or the far edge past
/// the image), and the outside is filled per <see cref="PadMode"/>.
/// </summary>
internal readonly record struct PresizeBox(int X, int Y, int Width, int Height);
