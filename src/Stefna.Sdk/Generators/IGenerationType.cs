namespace Stefna.Sdk.Generators;

/// <summary>
/// A generator that states its type's definition statically, so <c>AddGenerator&lt;T&gt;()</c> takes the type's name
/// from it: the name is spelled once, in the definition.
/// </summary>
public interface IGenerationType
{
    /// <summary>The type's definition.</summary>
    static abstract GenerationTypeDefinition TypeDefinition { get; }
}
