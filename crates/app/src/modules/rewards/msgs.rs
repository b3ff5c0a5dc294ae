//! The rewards module has no transaction messages: rewards are paid by the state machine itself
//! at each epoch's last block ([`super::end_block`]). This file exists so every module has the
//! same shape.
