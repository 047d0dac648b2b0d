//! Lab 1: MapReduce. (Filled in by the MapReduce issue.)
