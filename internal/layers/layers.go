// Package layers holds the test that keeps Lead's packages in their
// layers: text flows one way, from lang through the compiler to the
// runtime, and each runtime layer sees only the one below it.
package layers
