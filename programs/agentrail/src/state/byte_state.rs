//! States kept as one byte in zero-copy accounts.

/// Declares a state kept as one byte in a zero-copy account: a `Pod` newtype over `u8` with one
/// constant per state, named and used like an enum's variants (`JobStatus::Funded`, in
/// patterns too). A byte that is none of the constants matches no state, so every check that
/// asks for a state refuses it. Borsh writes it as the one byte an enum's variant index would be.
macro_rules! byte_state {
    (
        $(#[$doc:meta])*
        pub struct $name:ident {
            $( $(#[$variant_doc:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$doc])*
        ///
        #[doc = concat!("One byte: ", $( stringify!($variant), " = ", $value, "; ", )+ "any other byte is no state.")]
        #[derive(
            anchor_lang::AnchorSerialize,
            anchor_lang::AnchorDeserialize,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Default,
            bytemuck::Pod,
            bytemuck::Zeroable,
        )]
        #[repr(transparent)]
        pub struct $name(pub u8);

        // named like the variants of the enum they stand for
        #[allow(non_upper_case_globals)]
        impl $name {
            $( $(#[$variant_doc])* pub const $variant: Self = Self($value); )+

            /// The state's name as its constant spells it; `None` for a byte that is no state.
            pub fn name(&self) -> Option<&'static str> {
                match *self {
                    $( Self::$variant => Some(stringify!($variant)), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "Unknown({})", self.0),
                }
            }
        }
    };
}

pub(crate) use byte_state;
